import FHIRFormats
import FHIRModel
import Foundation
import Hummingbird

/// Building answers: the ePA JSON error type, plain JSON for the control API, and FHIR for the
/// operations. The ePA service answers service-wide failures as JSON and operation-level ones as
/// OperationOutcomes (dispense-spec §5.1); the simulator does the same.
enum SimulatorAnswer {
    static let outcomeDetailsSystem = "https://gematik.de/fhir/epa-medication/CodeSystem/epa-ms-operation-outcome-details"

    /// Keys sorted, so that answers are byte-for-byte the same from run to run.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return json(text: String(decoding: try encoder.encode(value), as: UTF8.self), status: status)
    }

    static func json(text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func fhir(_ resource: Element, status: HTTPResponse.Status = .ok) throws -> Response {
        let bytes = try FHIRFormat.json.write(resource)
        return Response(status: status, headers: [.contentType: "application/fhir+json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The output Parameters of a call: one parameter per transfer, in order, each with its outcome.
    static func success(for transfers: [Transfer]) -> Element {
        Element(name: "Parameters", children: transfers.map { success(for: $0).children[0] })
    }

    /// A 200 whose outcomes refuse every transfer with `code` (an `error` issue), as the service
    /// answers a prescription it does not hold (fd-parity.md §9.4).
    static func refusal(_ code: String, for transfers: [Transfer]) -> Element {
        Element(name: "Parameters", children: transfers.map { answer(for: $0, code: code, severity: "error", issueCode: "processing").children[0] })
    }

    /// The success answer of an operation: the echoed prescriptionId and an OperationOutcome with
    /// `MEDSVC_OPERATION_SUCCESS`, as `epa-op-rx-dispensation-erp-output-parameters` has it.
    static func success(for transfer: Transfer) -> Element {
        answer(for: transfer, code: "MEDSVC_OPERATION_SUCCESS", severity: "information", issueCode: "informational")
    }

    static func answer(for transfer: Transfer, code: String, severity: String, issueCode: String) -> Element {
        let identifier = Element(name: "valueIdentifier", children: [
            Element(name: "system", value: Transfer.prescriptionIdSystem), Element(name: "value", value: transfer.prescriptionId),
        ])
        let coding = Element(name: "coding", children: [
            Element(name: "system", value: outcomeDetailsSystem), Element(name: "code", value: code),
        ])
        let outcome = Element(name: "OperationOutcome", children: [
            Element(name: "issue", children: [
                Element(name: "severity", value: severity), Element(name: "code", value: issueCode),
                Element(name: "details", children: [coding]),
            ]),
        ])
        return Element(name: "Parameters", children: [
            Element(name: "parameter", children: [
                Element(name: "name", value: transfer.operation.parameterName),
                Element(name: "part", children: [Element(name: "name", value: "prescriptionId"), identifier]),
                Element(name: "part", children: [Element(name: "name", value: "operationOutcome"), Element(name: "resource", children: [outcome])]),
            ]),
        ])
    }
}

/// The ePA error type `{"errorCode": ..., "errorDetail": ...}`; `errorDetail` is left out when empty.
struct EPAErrorBody: Codable, Equatable {
    var errorCode: String
    var errorDetail: String?
}

/// Every answer other than success, as an error the router turns into a response.
struct SimulatorError: HTTPResponseError {
    enum Body {
        case epa(EPAErrorBody)
        case outcome(OperationOutcome)
    }

    var status: HTTPResponse.Status
    var body: Body

    func response(from request: Request, context: some RequestContext) throws -> Response {
        switch body {
        case .epa(let error): try SimulatorAnswer.json(error, status: status)
        case .outcome(let outcome): try SimulatorAnswer.fhir(outcome.element, status: status)
        }
    }

    static func epa(_ status: HTTPResponse.Status, _ code: String, _ detail: String? = nil) -> Self {
        Self(status: status, body: .epa(EPAErrorBody(errorCode: code, errorDetail: detail)))
    }

    static func malformed(_ detail: String) -> Self { .epa(.badRequest, "malformedRequest", detail) }
    static let locked = epa(.init(code: 423, reasonPhrase: "Locked"), "locked")
    static let statusMismatch = epa(.conflict, "statusMismatch")
    static let internalError = epa(.internalServerError, "internalError")
    static let serviceUnavailable = epa(.serviceUnavailable, "serviceUnavailable")
    static let notFound = epa(.notFound, "notFound")
    static let tooLarge = epa(.contentTooLarge, "malformedRequest", "The body exceeds \(RegistrySimulator.maximumBodySize) bytes")

    /// A body the operation cannot use: an OperationOutcome with `MSG_BAD_FORMAT`.
    static func badFormat(_ text: String, expression: String? = nil, diagnostics: String? = nil) -> Self {
        let issue = OperationOutcome.Issue(
            code: .invalid, text: text, detailCode: .init(system: SimulatorAnswer.outcomeDetailsSystem, code: "MSG_BAD_FORMAT"),
            diagnostics: diagnostics, expression: expression.map { [$0] } ?? []
        )
        return Self(status: .badRequest, body: .outcome(OperationOutcome(issues: [issue])))
    }

    /// At most this many of the validator's errors are answered (a body broken throughout would
    /// otherwise make an answer larger than the body).
    static let maximumIssues = 100

    /// A body that does not conform to the operation's input profile: one `invalid` issue per error
    /// the validator found, with its text and FHIRPath, and `MSG_BAD_FORMAT` as the ePA detail code.
    static func nonconforming(_ errors: [OperationOutcome.Issue], profile: String) -> Self {
        let detail = OperationOutcome.Coding(system: SimulatorAnswer.outcomeDetailsSystem, code: "MSG_BAD_FORMAT")
        var issues = errors.prefix(maximumIssues).map { error in
            OperationOutcome.Issue(code: .invalid, text: error.text, detailCode: detail,
                                   diagnostics: "\(error.code.rawValue): the body does not conform to \(profile)", expression: error.expression)
        }
        if errors.count > maximumIssues {
            issues.append(OperationOutcome.Issue(code: .invalid, text: "\(errors.count - maximumIssues) further errors not listed", detailCode: detail))
        }
        return Self(status: .badRequest, body: .outcome(OperationOutcome(issues: issues)))
    }
}
