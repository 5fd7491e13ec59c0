import Dispensing
import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 20, item 7–8: `GET /metadata` says what the server answers, and nothing else, and is a
/// valid R4 CapabilityStatement (A_20171; R4 http.html "capabilities").
@Suite struct CapabilityStatementTests {
    static let profile = "http://hl7.org/fhir/StructureDefinition/CapabilityStatement"

    /// Our definitions plus the official R4 core package from `../shared/fixtures` when present (its
    /// value sets make every required binding checkable); without it, our reduced R4 core.
    static let validator: ProfileValidator = {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/fixtures/definitions/hl7.fhir.r4.core-4.0.1")
        let official = FileManager.default.fileExists(atPath: shared.path) ? [shared] : []
        return ProfileValidator(profiles: CompiledProfiles(repository: try! ErxProfiles.repository(adding: official)))
    }()

    private func statement(_ format: WireFormat) async throws -> (HTTPFields, Element) {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let app = Application(router: server.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            let response = try await client.execute(uri: "/metadata", method: .get, headers: [.accept: format == .json ? "application/fhir+json" : "application/fhir+xml"])
            #expect(response.status == .ok)
            return (response.headers, try format.fhirFormat.read(Array(response.body.readableBytesView)).resource)
        }
    }

    /// Valid against the R4 core profile, in both formats, the 423 declaration's TI extension
    /// (ARCHITECTURE decision 5) included: no package in `../shared` defines
    /// `extension-http-response-info`, so `profiles/definitions` carries our definition of it; without
    /// one our validator, following gematik's A_22927, refuses the extension as unresolvable.
    @Test(arguments: [WireFormat.json, .xml])
    func validatesAgainstTheR4CoreProfile(format: WireFormat) async throws {
        let (headers, statement) = try await statement(format)
        #expect(headers[.contentType] == format.mediaType)
        let issues = Self.validator.validate(statement, profile: Self.profile).issues
        let errors = issues.filter { $0.severity == .error || $0.severity == .fatal }
        #expect(errors.isEmpty, "\(errors.map(\.summary).joined(separator: "\n"))")
        // The extension is checked, not merely resolved: without its required statusCode it is invalid.
        var incomplete = statement
        let index = try #require(incomplete.children.firstIndex { $0.name == "extension" })
        incomplete.children[index].children.removeAll { $0.value(of: "url") == "statusCode" }
        #expect(Self.validator.validate(incomplete, profile: Self.profile).issues.contains { $0.severity == .error })
        // The validator does check it: without the required `kind` (1..1) it is invalid.
        var broken = statement
        broken.children.removeAll { $0.name == "kind" }
        #expect(Self.validator.validate(broken, profile: Self.profile).issues.contains { $0.severity == .error && $0.code != .extension })
    }

    /// What the statement claims is what the route table serves, with R4's words only where the
    /// answer is R4's (`GET /Task/{id}` answers a Bundle: documented, not `read`).
    @Test func declaresWhatTheRouterAnswers() async throws {
        let (_, statement) = try await statement(.json)
        #expect(statement.value(of: "url") == "http://erx.test/metadata")
        #expect(statement.value(of: "name") == "ErxCapabilityStatement")
        #expect(statement.value(of: "kind") == "instance")
        // E2E ERP_CAPABILITYSTATEMENT_01: non-empty software name and version.
        #expect(statement.child("software")?.value(of: "name") == "erx")
        #expect(statement.child("software")?.value(of: "version") == ErxServer.version)
        #expect(statement.child("software")?.value(of: "releaseDate")?.isEmpty == false)
        #expect(statement.children(named: "format").compactMap(\.value) == ["application/fhir+xml", "application/fhir+json"])
        let rest = try #require(statement.child("rest"))
        let security = try #require(rest.child("security"))
        #expect(security.value(of: "cors") == "false")
        #expect(security.child("service")?.child("coding")?.value(of: "code") == "OAuth")

        let resources = Dictionary(uniqueKeysWithValues: rest.children(named: "resource").map { ($0.value(of: "type") ?? "", $0) })
        func interactions(_ type: String) -> [String] {
            resources[type]?.children(named: "interaction").compactMap { $0.value(of: "code") } ?? []
        }
        #expect(Set(resources.keys).isSuperset(of: ["Task", "MedicationDispense", "Consent", "Device"]))
        #expect(interactions("Task") == ["search-type"])
        #expect(resources["Task"]?.value(of: "documentation")?.contains("collection Bundle") == true)
        #expect(interactions("Device").isEmpty)
        #expect(resources["Device"]?.value(of: "documentation")?.contains("A_20744") == true)
        #expect(interactions("MedicationDispense") == ["search-type"])
        #expect(Set(interactions("Consent")) == ["create", "delete", "search-type"])
        #expect(resources["Consent"]?.value(of: "conditionalDelete") == "single")

        // Search parameters come from the route table.
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let declared = ErxServer.routes(server.env).filter { $0.resource == "MedicationDispense" }.flatMap(\.searchParameters).map(\.name)
        #expect(declared == ["identifier", "whenhandedover", "whenprepared", "performer", "_sort"])
        #expect(resources["MedicationDispense"]?.children(named: "searchParam").compactMap { $0.value(of: "name") } == declared)
    }
}
