import FHIRFormats
import FHIRModel
import Foundation
import HTTPTypes
import Hummingbird

/// The BfArM web service's stand-in (A_27828): it takes the carbon copies of closed T-Rezepte at
/// IBM's path `POST /ords/rezepte/t-rezept/v1`, checks each, and records it once per
/// `Idempotency-Key`: 201 the first time, 208 for a repeat (as IBM's BfArM mock answers a copy it
/// already has), 400 for a copy it refuses. One actor, so the key check and the recording are one step.
public actor BfArMReceiverState {
    public struct Copy: Codable, Sendable, Hashable {
        public var idempotencyKey: String
        public var prescriptionID: String
        public var body: String
        public var receivedAt: Double
    }

    /// Failures to play, set through `POST /_sim/bfarm/faults` (`{}`: none), as the webhook receiver's.
    public typealias Faults = WebhookReceiverState.HookFaults

    /// What `GET /_sim/bfarm/received` answers.
    public struct Report: Codable, Sendable, Hashable {
        public var copies: [Copy]
        /// Copies that came again with a key already recorded (answered 208, not recorded again).
        public var replays: Int
        /// Copies refused (400), with the reason of the last one.
        public var refused: Int
        public var lastRefusal: String?
        /// Every attempt that reached the receiver.
        public var attempts: Int
    }

    private var faults = Faults()
    private var copies: [Copy] = []
    private var keys: Set<String> = []
    private var replays = 0
    private var refused = 0
    private var lastRefusal: String?
    private var attempts = 0

    public init() {}

    public func setFaults(_ faults: Faults) { self.faults = faults }
    public func report() -> Report { Report(copies: copies, replays: replays, refused: refused, lastRefusal: lastRefusal, attempts: attempts) }

    public func reset() {
        copies = []
        keys = []
        replays = 0
        refused = 0
        lastRefusal = nil
        attempts = 0
    }

    /// The answer's status for one attempt, after faulting, checking and deduplicating it.
    func receive(key: String?, body: [UInt8], now: Date) -> HTTPResponse.Status {
        attempts += 1
        if Double.random(in: 0..<1) < faults.errorRate { return .internalServerError }
        let prescriptionID: String
        do {
            guard let key, !key.isEmpty else { throw Refusal("no Idempotency-Key") }
            prescriptionID = try Self.check(body)
        } catch let refusal as Refusal {
            refused += 1
            lastRefusal = refusal.reason
            return .badRequest
        } catch {
            refused += 1
            lastRefusal = "not FHIR JSON"
            return .badRequest
        }
        let status: HTTPResponse.Status
        if keys.insert(key ?? "").inserted {
            copies.append(Copy(idempotencyKey: key ?? "", prescriptionID: prescriptionID, body: String(decoding: body, as: UTF8.self),
                               receivedAt: now.timeIntervalSince1970))
            status = .created
        } else {
            replays += 1
            status = HTTPResponse.Status(code: 208, reasonPhrase: "Already Reported")
        }
        if Double.random(in: 0..<1) < faults.lostAnswerRate { return .internalServerError }
        return status
    }

    struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static let profile = "https://gematik.de/fhir/erp-t-prescription/StructureDefinition/erp-tprescription-carbon-copy|1.1"

    /// The shape of `erp-tprescription-carbon-copy` 1.1 (the package is not among the fixtures, so
    /// its parameters are checked by hand): `rxPrescription` with the signing instant, a 166
    /// PrescriptionID, the MedicationRequest and Medication; `rxDispensation` with the pharmacy and at
    /// least one dispense information of a MedicationDispense and its Medication; and no KVNR: the
    /// BfArM must not learn who the insurant is. Returns the PrescriptionID.
    public static func check(_ body: [UInt8]) throws -> String {
        let parameters = try FHIRFormat.json.read(body).resource
        guard parameters.name == "Parameters" else { throw Refusal("not a Parameters") }
        guard parameters.child("meta")?.children(named: "profile").contains(where: { $0.value == profile }) == true else {
            throw Refusal("meta.profile is not \(profile)")
        }
        let named = Dictionary(parameters.children(named: "parameter").map { ($0.value(of: "name") ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        guard named.count == 2, let prescription = named["rxPrescription"], let dispensation = named["rxDispensation"] else {
            throw Refusal("the parameters must be rxPrescription and rxDispensation")
        }
        func part(_ parent: Element, _ name: String) -> [Element] { parent.children(named: "part").filter { $0.value(of: "name") == name } }
        func resource(_ part: Element, _ type: String) throws -> Element {
            guard let resource = part.child("resource")?.wrappedResource, resource.name == type else { throw Refusal("part is not a \(type)") }
            return resource
        }
        guard let instant = part(prescription, "prescriptionSignatureDate").first?.value(of: "valueInstant"),
              ISO8601DateFormatter().date(from: instant) != nil
        else { throw Refusal("rxPrescription.prescriptionSignatureDate must be an instant") }
        guard let identifier = part(prescription, "prescriptionId").first?.child("valueIdentifier"),
              identifier.value(of: "system") == "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId",
              let id = identifier.value(of: "value"), id.hasPrefix("166.")
        else { throw Refusal("rxPrescription.prescriptionId must be a T-Rezept PrescriptionID") }
        guard let request = part(prescription, "medicationRequest").first, part(prescription, "medication").count == 1 else {
            throw Refusal("rxPrescription needs a medicationRequest and a medication")
        }
        let medicationRequest = try resource(request, "MedicationRequest")
        _ = try resource(part(prescription, "medication")[0], "Medication")
        guard medicationRequest.descendant("subject", "identifier", "value")?.value == nil else {
            throw Refusal("the copy names the insurant (MedicationRequest.subject.identifier.value)")
        }
        guard let organization = part(dispensation, "dispenseOrganization").first else { throw Refusal("rxDispensation.dispenseOrganization missing") }
        _ = try resource(organization, "Organization")
        let information = part(dispensation, "dispenseInformation")
        guard !information.isEmpty else { throw Refusal("rxDispensation.dispenseInformation missing") }
        for item in information {
            guard let dispense = part(item, "medicationDispense").first, let medication = part(item, "medication").first else {
                throw Refusal("dispenseInformation needs a medicationDispense and a medication")
            }
            let md = try resource(dispense, "MedicationDispense")
            _ = try resource(medication, "Medication")
            guard md.child("subject") == nil else { throw Refusal("the copy names the insurant (MedicationDispense.subject)") }
        }
        return id
    }
}

/// `POST /ords/rezepte/t-rezept/v1` and the control API under `/_sim/bfarm`: faults, and what was
/// received (read and clear).
struct BfArMReceiverRoutes {
    let state: BfArMReceiverState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/ords/rezepte/t-rezept/v1") { request, _ in
            let body = try await RegistrySimulator.collectBody(of: request)
            let key = HTTPField.Name("Idempotency-Key").flatMap { request.headers[$0] }
            return Response(status: await state.receive(key: key, body: Array(body.readableBytesView), now: Date()))
        }
        router.post("/_sim/bfarm/faults") { request, _ in
            let body = try await RegistrySimulator.collectBody(of: request)
            guard let faults = try? JSONDecoder().decode(BfArMReceiverState.Faults.self, from: Data(body.readableBytesView)),
                  (0...1).contains(faults.errorRate), (0...1).contains(faults.lostAnswerRate)
            else { throw SimulatorError.malformed("The body must be {\"errorRate\": 0…1, \"lostAnswerRate\": 0…1}") }
            await state.setFaults(faults)
            return try SimulatorAnswer.json(faults)
        }
        router.get("/_sim/bfarm/received") { _, _ in try SimulatorAnswer.json(await state.report()) }
        router.delete("/_sim/bfarm/received") { _, _ in
            await state.reset()
            return Response(status: .noContent)
        }
    }
}
