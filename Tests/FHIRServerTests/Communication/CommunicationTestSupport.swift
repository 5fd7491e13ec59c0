import Dispatch
import Dispensing
import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation
import Hummingbird
import HummingbirdTesting
import StoreTestSupport
import Testing

/// What the `/Communication` tests share: the ONE place that decides which Communication profiles
/// the server validates against, the server, and our own message bodies.
enum CommunicationTestSupport {
    /// erx's own Communication StructureDefinitions (`profiles/definitions`, workflow 1.5 and 1.6),
    /// and nothing else: what `erx serve` validates with when no `--profiles` are given.
    static let validator: ProfileValidator = {
        guard let repository = try? ErxProfiles.repository() else { preconditionFailure("profiles/definitions does not load") }
        return ProfileValidator(profiles: CompiledProfiles(repository: repository))
    }()

    /// Loaded on a Dispatch thread, not the cooperative pool (see ``AnswerValidator/loaded()``).
    static func loadedValidator() async -> ProfileValidator {
        await withCheckedContinuation { continuation in DispatchQueue.global().async { continuation.resume(returning: validator) } }
    }

    static let insurant = TestServer.kvnr
    static let otherInsurant = "Y123456789"
    static let pharmacy = TestServer.pharmacyTelematikID
    static let workflow = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Communication_"

    struct Context: Sendable {
        let client: Client
        let factory: TaskFactory
        let insurantToken: String
        let otherInsurantToken: String
        let pharmacyToken: String
        let otherPharmacyToken: String
        let insurerToken: String
    }

    /// A fresh server on `store` (over a real socket when `live`), with the Communication validator.
    static func withServer(_ format: WireFormat, store: StoreKind = .sqlite, live: Bool = true,
                           configure: @escaping @Sendable (inout ServerEnvironment) -> Void = { _ in },
                           _ body: @escaping @Sendable (Context) async throws -> Void) async throws {
        let validator = await loadedValidator()
        var server = try await TestServer(store: store)
        server.env.communicationValidation = CommunicationValidation(validator: validator)
        configure(&server.env)
        let prepared = server
        defer { Task { await prepared.remove() } }
        let app = Application(router: prepared.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(live ? .live : .router) { client in
            let client = Client(client: client, format: format, server: prepared)
            let context = Context(
                client: client, factory: try await TaskFactory(client: client),
                insurantToken: try await prepared.token(.insurant, id: insurant),
                otherInsurantToken: try await prepared.token(.insurant, id: otherInsurant),
                pharmacyToken: try await prepared.token(.publicPharmacy, id: pharmacy),
                otherPharmacyToken: try await prepared.token(.publicPharmacy, id: TestServer.otherPharmacyTelematikID),
                insurerToken: try await prepared.token(.insurer, id: "8-01-0000000001"))
            try await body(context)
        }
    }

    /// Today in Berlin, for prescriptions that are not yet expired.
    static var today: String { CalendarDate.day(of: Date()) }

    static func resource(_ json: String) throws -> Element {
        try FHIRFormat.json.read(Array(json.utf8)).resource
    }

    static func jsonString(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\"\(escaped)\""
    }

    static func kvnrIdentifier(_ kvnr: String) -> String {
        #"{"identifier":{"system":"http://fhir.de/sid/gkv/kvid-10","value":"\#(kvnr)"}}"#
    }

    static func telematikIdentifier(_ id: String) -> String {
        #"{"identifier":{"system":"https://gematik.de/fhir/sid/telematik-id","value":"\#(id)"}}"#
    }

    static func payload(_ text: String?) -> String {
        text.map { #","payload":[{"contentString":\#(jsonString($0))}]"# } ?? ""
    }

    static let onPremiseV1 = #"{"version":1,"supplyOptionsType":"onPremise"}"#

    /// A DispReq (workflow 1.6) from the insurant to a pharmacy.
    static func dispReq(task: String, accessCode: String?, recipient: String = pharmacy, flowType: FlowType = .gkvPharmacy,
                        payload text: String? = onPremiseV1, version: String = "1.6") throws -> Element {
        let reference = "Task/\(task)/$accept" + (accessCode.map { "?ac=\($0)" } ?? "")
        return try resource(#"""
            {"resourceType":"Communication","meta":{"profile":["\#(workflow)DispReq|\#(version)"]},
             "extension":[{"url":"https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_PrescriptionType",
               "valueCoding":{"system":"https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType","code":"\#(flowType.rawValue)","display":"\#(flowType.display)"}}],
             "status":"unknown","basedOn":[{"reference":"\#(reference)"}],
             "recipient":[\#(telematikIdentifier(recipient))]\#(payload(text))}
            """#)
    }

    /// A Reply or DiGA message (workflow 1.6) from an institution to an insurant.
    static func reply(task: String, kind: String = "Reply", recipient: String = insurant, payload text: String? = onPremiseV1,
                      version: String = "1.6") throws -> Element {
        try resource(#"""
            {"resourceType":"Communication","meta":{"profile":["\#(workflow)\#(kind)|\#(version)"]},
             "status":"unknown","basedOn":[{"reference":"Task/\#(task)"}],
             "recipient":[\#(kvnrIdentifier(recipient))]\#(payload(text))}
            """#)
    }

    /// A Representative message (workflow 1.6) between insurants.
    static func representative(task: String, accessCode: String?, recipient: String = otherInsurant, text: String = "Bitte einlösen") throws -> Element {
        let reference = "Task/\(task)/$accept" + (accessCode.map { "?ac=\($0)" } ?? "")
        return try resource(#"""
            {"resourceType":"Communication","meta":{"profile":["\#(workflow)Representative|1.6"]},
             "status":"unknown","basedOn":[{"reference":"\#(reference)"}],
             "recipient":[\#(kvnrIdentifier(recipient))]\#(payload(text))}
            """#)
    }

    /// A ChargChangeReq (erpchrg 1.1).
    static func chargChangeReq(task: String) throws -> Element {
        try resource(#"""
            {"resourceType":"Communication","meta":{"profile":["https://gematik.de/fhir/erpchrg/StructureDefinition/GEM_ERPCHRG_PR_Communication_ChargChangeReq|1.1"]},
             "status":"unknown","basedOn":[{"reference":"ChargeItem/\#(task)"}],
             "recipient":[\#(telematikIdentifier(pharmacy))],"payload":[{"contentString":"Bitte ändern"}]}
            """#)
    }

    /// The first issue's `details.text` and `diagnostics`.
    static func issue(_ reply: Reply) throws -> (text: String?, diagnostics: String?) {
        let issue = try reply.resource().child("issue")
        return (issue?.child("details")?.value(of: "text"), issue?.value(of: "diagnostics"))
    }
}
