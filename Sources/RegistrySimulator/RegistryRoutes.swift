import FHIRFormats
import FHIRModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The registry side: the Information Service's consent decisions and the medication service's
/// four `*-erp` operations.
struct RegistryRoutes {
    static let consentPath = "/information/api/v1/ehr/consentdecisions"
    static let insurantHeader = HTTPField.Name("x-insurantid")!
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!

    let state: SimulatorState
    /// The ePA input profiles every body must conform to; `nil`: only the shape the simulator needs is checked.
    let validation: PayloadValidation?

    func register(on router: Router<BasicRequestContext>) {
        router.get(RouterPath(Self.consentPath)) { request, _ in try await consentDecisions(request) }
        for operation in TransferOperation.allCases {
            router.post(RouterPath(operation.path)) { request, context in try await transfer(operation, request, context: context) }
        }
    }

    /// Both functions the relay asks about, `medication` and `erp-submission`, share one decision.
    /// Written as text so the members keep the Information Service's order.
    private func consentDecisions(_ request: Request) async throws -> Response {
        let kvnr = try Self.kvnr(of: request)
        let faults = await state.faults()
        if let delay = faults.slow[kvnr], delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        let decision = faults.deny.contains(kvnr) ? "deny" : "permit"
        return SimulatorAnswer.json(text: #"{"data":[{"functionId":"medication","decision":"\#(decision)"},"#
            + #"{"functionId":"erp-submission","decision":"\#(decision)"}]}"#)
    }

    /// The checks in the order the brief fixes: headers, the per-KVNR faults, the random failure,
    /// a slow insurant's delay, the body, and last the idempotency keys, so a replay answers like
    /// the first success.
    ///
    /// A call may carry several transfers of one insurant (A_25956), one parameter each, with one
    /// idempotency key each: `Idempotency-Key: k1, k2, …` in the parameters' order. They are
    /// applied in that order, each once; a fault answers for the whole call.
    private func transfer(_ operation: TransferOperation, _ request: Request, context: BasicRequestContext) async throws -> Response {
        let kvnr = try Self.kvnr(of: request)
        let keys = (request.headers[Self.idempotencyHeader] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !keys.isEmpty, keys.allSatisfy({ !$0.isEmpty }) else {
            throw SimulatorError.malformed("Header Idempotency-Key is missing")
        }
        guard Set(keys).count == keys.count else { throw SimulatorError.malformed("Header Idempotency-Key names a key twice") }
        let faults = await state.faults()
        if faults.locked.contains(kvnr) { throw SimulatorError.locked }
        if faults.conflict.contains(kvnr) { throw SimulatorError.statusMismatch }
        if faults.errorRate > 0, Double.random(in: 0..<1) < faults.errorRate { throw SimulatorError.internalError }
        if let delay = faults.slow[kvnr], delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }

        let transfers = try await readTransfers(request, as: operation)
        guard transfers.count == keys.count else {
            throw SimulatorError.malformed("Header Idempotency-Key must name one key per parameter (\(keys.count) for \(transfers.count))")
        }
        if let code = faults.refused[kvnr] {
            return try SimulatorAnswer.fhir(SimulatorAnswer.refusal(code, for: transfers))
        }
        let applied = await state.apply(Array(zip(transfers, keys)), kvnr: kvnr, at: Date())
        context.logger.info("transfer", metadata: [
            "operation": .string(operation.rawValue), "transfers": .stringConvertible(transfers.count), "replays": .stringConvertible(transfers.count - applied),
        ])
        return try SimulatorAnswer.fhir(SimulatorAnswer.success(for: transfers))
    }

    static func kvnr(of request: Request) throws -> String {
        guard let kvnr = request.headers[insurantHeader] else { throw SimulatorError.malformed("Header x-insurantid is missing") }
        guard isKVNR(kvnr) else { throw SimulatorError.malformed("Header x-insurantid is not a KVNR (a capital letter and nine digits)") }
        return kvnr
    }

    /// The form of a KVNR (one capital letter, nine digits); the check digit is not the simulator's business.
    static func isKVNR(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 10 && (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(bytes[0])
            && bytes.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// The body's transfers. With ``validation``, the whole body (every parameter of a joined call)
    /// is checked against the operation's input profile first: one nonconforming parameter refuses
    /// the call, and nothing of it is applied.
    private func readTransfers(_ request: Request, as operation: TransferOperation) async throws -> [Transfer] {
        let body = try await RegistrySimulator.collectBody(of: request)
        let resource: Element
        do {
            resource = try FHIRFormat.json.read(Array(body.readableBytesView)).resource
        } catch {
            throw SimulatorError.badFormat("The body is not a readable FHIR JSON resource", diagnostics: error.issue.summary)
        }
        if let validation {
            let errors = validation.errors(in: resource, as: operation)
            if !errors.isEmpty { throw SimulatorError.nonconforming(errors, profile: validation.profile(of: operation)) }
        }
        do {
            return try Transfer.all(in: resource, as: operation)
        } catch {
            throw SimulatorError.badFormat(error.text, expression: error.expression)
        }
    }
}
