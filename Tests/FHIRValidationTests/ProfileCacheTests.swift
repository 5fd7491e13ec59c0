import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Testing

/// Found by fuzzing (issue 19): every canonical a body claimed in `meta.profile` was remembered,
/// unknown ones included, so a caller could grow the validator's memory without bound.
struct ProfileCacheTests {
    @Test func unknownCanonicalsFromTheInputAreNotRemembered() throws {
        let profiles = CompiledProfiles(repository: try ErxProfiles.repository())
        let validator = ProfileValidator(profiles: profiles)
        func validate(_ index: Int) throws {
            let json = #"{"resourceType":"Medication","meta":{"profile":["https://example.org/unknown/\#(index)"]},"status":"active"}"#
            _ = validator.validate(try FHIRFormat.json.read(Array(json.utf8)).resource)
        }
        try validate(0)
        let after = profiles.rememberedResolutions
        for index in 1...500 { try validate(index) }
        #expect(profiles.rememberedResolutions == after)
    }
}
