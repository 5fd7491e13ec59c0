import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// txt-1 and txt-2 (`htmlChecks()`) are checked natively, as the HL7 validator does, instead of being
/// reported as unevaluable: the narratives erx writes (AuditEvent texts carry names from tokens) are held
/// to them.
struct NarrativeRulesTests {
    static let xhtml = "http://www.w3.org/1999/xhtml"

    @Test func theAuditEventFormPasses() {
        let findings = NarrativeRules.check(#"<div xmlns="\#(Self.xhtml)" lang="de" xml:lang="de">Erika &amp; Max hat das Rezept heruntergeladen.</div>"#)
        #expect(findings.problems.isEmpty)
        #expect(findings.hasContent)
    }

    @Test(arguments: [
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>"#, "element script"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><p onclick="x()">a</p></div>"#, "attribute onclick"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><p href="x">a</p></div>"#, "attribute href"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml"><form/>a</div>"#, "element form"),
        (#"<div>a</div>"#, "not in the XHTML namespace"),
        (#"<div xmlns="http://www.w3.org/1999/xhtml">a</p>"#, "Malformed"),
    ])
    func breakingTxt1IsFound(text: String, problem: String) {
        let problems = NarrativeRules.check(text).problems
        #expect(problems.contains { $0.contains(problem) }, "\(problems)")
    }

    @Test func contentIsTextOrAnImage() {
        #expect(!NarrativeRules.check(#"<div xmlns="\#(Self.xhtml)"> <p>  </p> </div>"#).hasContent)
        #expect(NarrativeRules.check(#"<div xmlns="\#(Self.xhtml)"><img src="a.png" alt=""/></div>"#).hasContent)
        #expect(NarrativeRules.check(##"<div xmlns="http://www.w3.org/1999/xhtml"><a href="#x">link</a></div>"##).problems.isEmpty)
    }

    static let validator = ProfileValidator(profiles: CompiledProfiles(repository: try! ErxProfiles.repository()))

    static func issues(div: String) throws -> [OperationOutcome.Issue] {
        let escaped = div.replacingOccurrences(of: "\"", with: "\\\"")
        let json = #"{"resourceType":"Patient","text":{"status":"generated","div":"\#(escaped)"}}"#
        return validator.validate(try FHIRJSONReader().read(Array(json.utf8)).resource).issues
    }

    @Test func theValidatorChecksBothInvariants() throws {
        let valid = try Self.issues(div: #"<div xmlns="\#(Self.xhtml)">Erika</div>"#)
        #expect(!valid.contains { $0.text.hasPrefix("txt-") }, "\(valid.map(\.summary))")
        let script = try Self.issues(div: #"<div xmlns="\#(Self.xhtml)"><script>x</script>y</div>"#)
        #expect(script.contains { $0.severity == .error && $0.text.hasPrefix("txt-1") && $0.expression == ["Patient.text.div"] })
        let empty = try Self.issues(div: #"<div xmlns="\#(Self.xhtml)"> </div>"#)
        #expect(empty.contains { $0.severity == .error && $0.text.hasPrefix("txt-2") && $0.expression == ["Patient.text.div"] })
    }
}
