import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// One test per rule kind, on a small differential profile of our own (snapshot generated from R4 core),
/// each breaking exactly one thing of a valid instance and asserting the exact issue and expression.
struct ValidatorRuleTests {
    static let profile = """
        {"resourceType":"StructureDefinition","url":"https://example.org/SD/TestDispense","version":"1.0","name":"TestDispense",
         "status":"active","kind":"resource","abstract":false,"type":"MedicationDispense",
         "baseDefinition":"http://hl7.org/fhir/StructureDefinition/MedicationDispense","derivation":"constraint",
         "differential":{"element":[
          {"id":"MedicationDispense","path":"MedicationDispense","constraint":[
            {"key":"test-1","severity":"error","human":"a note is required without dosage","expression":"dosageInstruction.exists() or note.exists()"},
            {"key":"test-2","severity":"error","human":"uses a function we do not have","expression":"aggregate($this)"}]},
          {"id":"MedicationDispense.extension","path":"MedicationDispense.extension","slicing":{"discriminator":[{"type":"value","path":"url"}],"rules":"open"}},
          {"id":"MedicationDispense.extension:flag","path":"MedicationDispense.extension","sliceName":"flag","min":0,"max":"1",
           "type":[{"code":"Extension","profile":["https://example.org/SD/Flag"]}]},
          {"id":"MedicationDispense.identifier","path":"MedicationDispense.identifier","min":1,
           "slicing":{"discriminator":[{"type":"pattern","path":"system"}],"rules":"closed"}},
          {"id":"MedicationDispense.identifier:rx","path":"MedicationDispense.identifier","sliceName":"rx","min":1,"max":"1"},
          {"id":"MedicationDispense.identifier:rx.system","path":"MedicationDispense.identifier.system","min":1,"patternUri":"https://example.org/rx"},
          {"id":"MedicationDispense.identifier:rx.value","path":"MedicationDispense.identifier.value","min":1},
          {"id":"MedicationDispense.status","path":"MedicationDispense.status","fixedCode":"completed"},
          {"id":"MedicationDispense.medication[x]","path":"MedicationDispense.medication[x]",
           "type":[{"code":"Reference","targetProfile":["http://hl7.org/fhir/StructureDefinition/Medication"]}]},
          {"id":"MedicationDispense.subject","path":"MedicationDispense.subject","min":1},
          {"id":"MedicationDispense.subject.identifier","path":"MedicationDispense.subject.identifier","min":1},
          {"id":"MedicationDispense.subject.identifier.system","path":"MedicationDispense.subject.identifier.system","min":1,
           "fixedUri":"http://fhir.de/sid/gkv/kvid-10"},
          {"id":"MedicationDispense.type","path":"MedicationDispense.type","binding":{"strength":"required","valueSet":"https://example.org/VS/types"}},
          {"id":"MedicationDispense.whenHandedOver","path":"MedicationDispense.whenHandedOver","min":1}
         ]}}
        """
    static let flagExtension = """
        {"resourceType":"StructureDefinition","url":"https://example.org/SD/Flag","version":"1.0","name":"Flag","status":"active",
         "kind":"complex-type","abstract":false,"type":"Extension","context":[{"type":"element","expression":"MedicationDispense"}],
         "baseDefinition":"http://hl7.org/fhir/StructureDefinition/Extension","derivation":"constraint",
         "differential":{"element":[
          {"id":"Extension.url","path":"Extension.url","fixedUri":"https://example.org/SD/Flag"},
          {"id":"Extension.value[x]","path":"Extension.value[x]","min":1,"type":[{"code":"boolean"}]}]}}
        """
    static let valueSet = """
        {"resourceType":"ValueSet","url":"https://example.org/VS/types","status":"active",
         "compose":{"include":[{"system":"https://example.org/CS/types"}]}}
        """
    static let codeSystem = """
        {"resourceType":"CodeSystem","url":"https://example.org/CS/types","status":"active","content":"complete",
         "concept":[{"code":"a"},{"code":"b","display":"Beta","designation":[{"language":"de","value":"Beta (de)"}]}]}
        """
    static let valid = """
        {"resourceType":"MedicationDispense","meta":{"profile":["https://example.org/SD/TestDispense|1.0"]},
         "contained":[{"resourceType":"Medication","id":"med","code":{"text":"Ibuprofen 400"}}],
         "extension":[{"url":"https://example.org/SD/Flag","valueBoolean":true}],
         "identifier":[{"system":"https://example.org/rx","value":"160.000.000.000.001.05"}],
         "status":"completed","medicationReference":{"reference":"#med"},
         "subject":{"identifier":{"system":"http://fhir.de/sid/gkv/kvid-10","value":"X123456789"}},
         "type":{"coding":[{"system":"https://example.org/CS/types","code":"a"}]},
         "whenPrepared":"2026-01-01","whenHandedOver":"2026-01-02","note":[{"text":"n"}]}
        """

    static let validator: ProfileValidator = {
        var repository = try! ErxProfiles.repository()
        for text in [profile, flagExtension, valueSet, codeSystem] {
            repository.add(try! FHIRJSONReader().read(Array(text.utf8)).resource, source: "test")
        }
        return ProfileValidator(profiles: CompiledProfiles(repository: repository))
    }()

    static func outcome(_ text: String) throws -> OperationOutcome {
        validator.validate(try FHIRJSONReader().read(Array(text.utf8)).resource)
    }

    static func errors(replacing old: String, with new: String) throws -> [OperationOutcome.Issue] {
        #expect(valid.contains(old), "the mutation must apply")
        return try outcome(valid.replacingOccurrences(of: old, with: new)).issues.filter { $0.severity == .error }
    }

    @Test func validInstanceHasNoErrorAndReportsTheUnevaluableInvariant() throws {
        let issues = try Self.outcome(Self.valid).issues
        #expect(!issues.contains { $0.severity == .error }, "\(issues.map(\.summary))")
        let warnings = issues.filter { $0.severity == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.code == .notSupported && warnings.first?.text.hasPrefix("test-2") == true)
    }

    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let old: String
        let new: String
        let code: OperationOutcome.IssueCode
        let expression: String
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "fixed value", old: #""status":"completed""#, new: #""status":"in-progress""#,
             code: .value, expression: "MedicationDispense.status"),
        Case(name: "closed slicing", old: #""system":"https://example.org/rx""#, new: #""system":"https://example.org/other""#,
             code: .structure, expression: "MedicationDispense.identifier[0]"),
        Case(name: "slice cardinality", old: #""system":"https://example.org/rx""#, new: #""system":"https://example.org/other""#,
             code: .required, expression: "MedicationDispense.identifier"),
        Case(name: "missing element", old: #""subject":{"identifier":{"system":"http://fhir.de/sid/gkv/kvid-10","value":"X123456789"}}"#,
             new: #""subject":{"display":"someone"}"#, code: .required, expression: "MedicationDispense.subject.identifier"),
        Case(name: "fixed system in a type expanded from the differential", old: #""system":"http://fhir.de/sid/gkv/kvid-10""#,
             new: #""system":"http://fhir.de/sid/pkv/kvid-10""#, code: .value, expression: "MedicationDispense.subject.identifier.system"),
        Case(name: "choice type not allowed", old: ##""medicationReference":{"reference":"#med"}"##,
             new: #""medicationCodeableConcept":{"text":"x"}"#, code: .structure, expression: "MedicationDispense.medicationCodeableConcept"),
        Case(name: "reference target type", old: #"{"resourceType":"Medication","id":"med","code":{"text":"Ibuprofen 400"}}"#,
             new: #"{"resourceType":"Patient","id":"med"}"#, code: .structure, expression: "MedicationDispense.medicationReference"),
        Case(name: "required binding", old: #""code":"a""#, new: #""code":"z""#, code: .codeInvalid, expression: "MedicationDispense.type"),
        Case(name: "core required binding", old: #""status":"completed""#, new: #""status":"done""#,
             code: .codeInvalid, expression: "MedicationDispense.status"),
        Case(name: "unknown extension", old: #""url":"https://example.org/SD/Flag""#, new: #""url":"https://example.org/SD/Unknown""#,
             code: .extension, expression: "MedicationDispense.extension[0]"),
        Case(name: "extension value type", old: #""valueBoolean":true"#, new: #""valueString":"yes""#,
             code: .structure, expression: "MedicationDispense.extension[0].valueString"),
        Case(name: "extension with value and extensions (ext-1)", old: #""valueBoolean":true"#,
             new: #""valueBoolean":true,"extension":[{"url":"x","valueString":"y"}]"#,
             code: .invariant, expression: "MedicationDispense.extension[0]"),
        Case(name: "profile invariant", old: #","note":[{"text":"n"}]"#, new: "", code: .invariant, expression: "MedicationDispense"),
        Case(name: "core invariant mdd-1", old: #""whenPrepared":"2026-01-01""#, new: #""whenPrepared":"2026-01-03""#,
             code: .invariant, expression: "MedicationDispense"),
        Case(name: "core invariant dom-3 (contained resource not referenced)", old: ##""medicationReference":{"reference":"#med"}"##,
             new: #""medicationReference":{"display":"x"}"#, code: .invariant, expression: "MedicationDispense"),
    ]

    @Test(arguments: cases) func eachRuleReportsItsIssue(_ rule: Case) throws {
        let errors = try Self.errors(replacing: rule.old, with: rule.new)
        #expect(errors.contains { $0.code == rule.code && $0.expression == [rule.expression] },
                "expected \(rule.code) at \(rule.expression), got \(errors.map { "\($0.code) \($0.expression) \($0.text)" })")
    }

    @Test func unresolvableProfileIsAWarningAndTheBaseStillApplies() throws {
        let text = Self.valid.replacingOccurrences(of: "https://example.org/SD/TestDispense|1.0", with: "https://example.org/SD/Nowhere|9")
            .replacingOccurrences(of: #""status":"completed""#, with: #""status":"done""#)
        let issues = try Self.outcome(text).issues
        #expect(issues.contains { $0.severity == .warning && $0.code == .notFound && $0.text.contains("https://example.org/SD/Nowhere|9") })
        #expect(issues.contains { $0.severity == .error && $0.code == .codeInvalid && $0.expression == ["MedicationDispense.status"] })
    }

    @Test func explicitProfileThatCannotBeResolvedIsAnError() throws {
        let resource = try FHIRJSONReader().read(Array(Self.valid.utf8)).resource
        let outcome = Self.validator.validate(resource, profile: "https://example.org/SD/Nowhere")
        #expect(outcome.issues.contains { $0.severity == .error && $0.code == .notFound })
    }
}
