import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// Entries sliced by `value` on `resource.meta.profile`, where each entry's profile fixes its own
/// `meta.profile` in a slice (KBV's `KBV_PR_ERP_Bundle` and its `meta.profile:erpProfile`): the value
/// comes from that required slice, and the path goes on inside the entry's resource. Before, no entry
/// matched any slice and every valid KBV bundle of the corpus was refused (45 of 113 agreed; now 103).
struct SliceByProfileValueTests {
    static let patient = """
        {"resourceType":"StructureDefinition","url":"https://example.org/SD/DocPatient","version":"1.0","name":"DocPatient",
         "status":"active","kind":"resource","abstract":false,"type":"Patient",
         "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",
         "differential":{"element":[
          {"id":"Patient.meta","path":"Patient.meta","min":1},
          {"id":"Patient.meta.profile","path":"Patient.meta.profile","min":1,
           "slicing":{"discriminator":[{"type":"value","path":"$this"}],"rules":"open"}},
          {"id":"Patient.meta.profile:own","path":"Patient.meta.profile","sliceName":"own","min":1,"max":"1",
           "fixedCanonical":"https://example.org/SD/DocPatient|1.0"}]}}
        """
    static let bundle = """
        {"resourceType":"StructureDefinition","url":"https://example.org/SD/DocBundle","version":"1.0","name":"DocBundle",
         "status":"active","kind":"resource","abstract":false,"type":"Bundle",
         "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Bundle","derivation":"constraint",
         "differential":{"element":[
          {"id":"Bundle.entry","path":"Bundle.entry","min":1,
           "slicing":{"discriminator":[{"type":"value","path":"resource.meta.profile"}],"rules":"closed"}},
          {"id":"Bundle.entry:patient","path":"Bundle.entry","sliceName":"patient","min":1,"max":"1"},
          {"id":"Bundle.entry:patient.resource","path":"Bundle.entry.resource","min":1,
           "type":[{"code":"Patient","profile":["https://example.org/SD/DocPatient|1.0"]}]}]}}
        """

    static let validator: ProfileValidator = {
        var repository = try! ErxProfiles.repository()
        for text in [patient, bundle] { repository.add(try! FHIRJSONReader().read(Array(text.utf8)).resource, source: "test") }
        return ProfileValidator(profiles: CompiledProfiles(repository: repository))
    }()

    static func errors(patientProfile: String?) throws -> [OperationOutcome.Issue] {
        let meta = patientProfile.map { #","meta":{"profile":["\#($0)"]}"# } ?? ""
        let json = #"""
            {"resourceType":"Bundle","meta":{"profile":["https://example.org/SD/DocBundle|1.0"]},"type":"collection",
             "entry":[{"fullUrl":"urn:uuid:5d6f2f3e-0c41-4a47-9f0e-1b2c3d4e5f60","resource":{"resourceType":"Patient"\#(meta)}}]}
            """#
        return validator.validate(try FHIRJSONReader().read(Array(json.utf8)).resource).issues.filter { $0.severity == .error }
    }

    @Test func anEntryClaimingTheSlicesProfileIsInTheSlice() throws {
        let errors = try Self.errors(patientProfile: "https://example.org/SD/DocPatient|1.0")
        #expect(errors.isEmpty, "\(errors.map(\.summary))")
    }

    @Test(arguments: [nil, "https://example.org/SD/Other|1.0"])
    func anEntryWithoutItIsInNoSlice(profile: String?) throws {
        let errors = try Self.errors(patientProfile: profile)
        #expect(errors.contains { $0.code == .structure && $0.expression == ["Bundle.entry[0]"] }, "\(errors.map(\.summary))")
        #expect(errors.contains { $0.code == .required && $0.text.contains("Bundle.entry:patient") })
    }
}
