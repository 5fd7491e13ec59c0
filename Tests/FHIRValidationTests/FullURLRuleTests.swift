import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// R4 Bundle.entry.fullUrl: a RESTful fullUrl ends with its resource's type and id; a `urn:uuid:` may not.
struct FullURLRuleTests {
    static let validator = ProfileValidator(profiles: CompiledProfiles(repository: try! ErxProfiles.repository()))

    static func errors(fullUrl: String, type: String = "Patient", id: String = "1") throws -> [String] {
        let json = #"{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"\#(fullUrl)","resource":{"resourceType":"\#(type)","id":"\#(id)"}}]}"#
        let outcome = validator.validate(try FHIRJSONReader().read(Array(json.utf8)).resource)
        return outcome.issues.filter { $0.severity == .error && $0.text.contains("fullUrl") }.compactMap(\.expression.first)
    }

    @Test(arguments: ["http://erx.test/Patient/1", "https://erx.test/fhir/Patient/1", "urn:uuid:9b6e4d1e-8a43-4b1f-9f6b-3a4c1d2e5f60",
                      "https://example.org/some/document"])
    func agreeingOrNotRESTfulPasses(fullUrl: String) throws {
        #expect(try Self.errors(fullUrl: fullUrl).isEmpty)
    }

    @Test(arguments: ["http://erx.test/Patient/2", "http://erx.test/Device/1"])
    func aRESTfulURLOfAnotherResourceIsAnError(fullUrl: String) throws {
        #expect(try Self.errors(fullUrl: fullUrl) == ["Bundle.entry[0]"])
    }
}
