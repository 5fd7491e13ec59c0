import FHIRFormats
import FHIRModel
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import RegistrySimulator

let kvnr = "X123456789"
let prescriptionIdSystem = "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId"
let outcomeDetailsSystem = "https://gematik.de/fhir/epa-medication/CodeSystem/epa-ms-operation-outcome-details"

/// Runs a test against the simulator's application through the router (no socket).
func withSimulator(
    _ state: SimulatorState = SimulatorState(), validation: PayloadValidation? = nil, _ test: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let app = RegistrySimulator.application(state: state, validation: validation, host: "127.0.0.1", port: 0, logger: quietLogger)
    try await app.test(.router, test)
}

/// Warnings and errors only: one info line per request would bury the test output.
let quietLogger: Logger = {
    var logger = Logger(label: "registry-sim-test")
    logger.logLevel = .warning
    return logger
}()

/// Transfer bodies, built with our Element tree and JSON writer as the relay would.
enum Payload {
    static func part(_ name: String, _ value: Element) -> Element {
        Element(name: "part", children: [Element(name: "name", value: name), value])
    }

    static func prescriptionId(_ id: String) -> Element {
        part("prescriptionId", Element(name: "valueIdentifier", children: [
            Element(name: "system", value: prescriptionIdSystem), Element(name: "value", value: id),
        ]))
    }

    static func resource(_ name: String, _ resource: Element) -> Element {
        part(name, Element(name: "resource", children: [resource]))
    }

    static let dispense = Element(name: "MedicationDispense", children: [
        Element(name: "status", value: "completed"),
        Element(name: "medicationCodeableConcept", children: [Element(name: "text", value: "Ibuprofen 400 mg")]),
    ])
    static let organization = Element(name: "Organization", children: [Element(name: "name", value: "Apotheke am Markt")])

    static func parameters(_ name: String, _ parts: [Element]) -> Element {
        Element(name: "Parameters", children: [Element(name: "parameter", children: [Element(name: "name", value: name)] + parts)])
    }

    static func provideDispensation(_ id: String, status: String = "completed", dispenses: Int = 1) -> Element {
        parameters("rxDispensation", [
            prescriptionId(id), part("authoredOn", Element(name: "valueDate", value: "2025-03-01")),
            part("status", Element(name: "valueCode", value: status)),
        ] + Array(repeating: resource("medicationDispense", dispense), count: dispenses) + [resource("organization", organization)])
    }

    static func cancelDispensation(_ id: String) -> Element {
        parameters("rxDispensation", [prescriptionId(id), part("authoredOn", Element(name: "valueDate", value: "2025-03-01"))])
    }

    static func providePrescription(_ id: String) -> Element {
        parameters("rxPrescription", [
            prescriptionId(id), part("authoredOn", Element(name: "valueDate", value: "2025-03-01")), resource("organization", organization),
        ])
    }

    static func cancelPrescription(_ id: String) -> Element {
        parameters("rxPrescription", [prescriptionId(id), part("authoredOn", Element(name: "valueDate", value: "2025-03-01"))])
    }

    /// `parameters` with the first parameter's parts of this name taken out.
    static func without(_ name: String, in parameters: Element) -> Element {
        var parameters = parameters
        parameters.children[0].children.removeAll { $0.value(of: "name") == name }
        return parameters
    }

    static func json(_ resource: Element) throws -> ByteBuffer {
        ByteBuffer(bytes: try FHIRFormat.json.write(resource))
    }
}

extension TestClientProtocol {
    /// A `*-erp` operation; `nil` leaves a header out.
    func transfer(
        _ operation: String, _ body: ByteBuffer?, kvnr: String? = kvnr, key: String? = UUID().uuidString
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/fhir+json"]
        if let kvnr { headers[HTTPField.Name("x-insurantid")!] = kvnr }
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        return try await execute(uri: "/epa/medication/api/v1/fhir/$\(operation)", method: .post, headers: headers, body: body)
    }

    func consent(kvnr: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let kvnr { headers[HTTPField.Name("x-insurantid")!] = kvnr }
        return try await execute(uri: "/information/api/v1/ehr/consentdecisions", method: .get, headers: headers)
    }

    @discardableResult
    func setFaults(_ json: String) async throws -> TestResponse {
        try await execute(uri: "/_sim/faults", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: json))
    }

    func received() async throws -> [ReceivedTransfer] {
        try await execute(uri: "/_sim/received", method: .get).decoded([ReceivedTransfer].self)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(body.readableBytesView))
    }

    /// The body read as FHIR JSON.
    func resource() throws -> Element {
        try FHIRFormat.json.read(Array(body.readableBytesView)).resource
    }
}
