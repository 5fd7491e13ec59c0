import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRPath
@testable import FHIRValidation
import Foundation
import Testing

/// The native checks of the dispensing profiles' invariants agree with the FHIRPath engine: case by case
/// on the shapes they answer (and they leave the others to the engine), and on whole corpora, where a
/// validation with native checks reports exactly what one evaluating every invariant as FHIRPath does.
struct NativeInvariantAgreementTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let ours = try! ErxProfiles.repository()
    static let dispense16 = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_PAR_DispenseOperation_Input|1.6"
    static let medicationDispense16 = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.6"
    static let core = "http://hl7.org/fhir/StructureDefinition/"

    struct Case: Sendable, CustomStringConvertible {
        let key: String
        /// The profile carrying the invariant.
        let profile: String
        /// FHIRPath from the resource to the focus element.
        let focus: String
        let json: String
        /// Whether the native check answers this shape itself (else it defers to the engine).
        let answersNatively: Bool
        var description: String { "\(key) on \(json.prefix(120))" }
    }

    static func md(_ members: String) -> String {
        #"{"resourceType":"MedicationDispense","status":"completed","medicationCodeableConcept":{"text":"x"}"# + members + "}"
    }

    static func parameter(reference: String, id: String, extraParts: String = "") -> String {
        #"{"resourceType":"Parameters","parameter":[{"name":"rxDispensation","part":[{"name":"medicationDispense","resource":"#
            + #"{"resourceType":"MedicationDispense","status":"completed","medicationReference":"# + reference + "}},"
            + #"{"name":"medication","resource":{"resourceType":"Medication","id":""# + id + #""}}"# + extraParts + "]}]}"
    }

    static let cases: [Case] = [
        Case(key: "kvid-1", profile: medicationDispense16, focus: "subject.identifier.value",
             json: md(#","subject":{"identifier":{"value":"X123456789"}}"#), answersNatively: true),
        Case(key: "kvid-1", profile: medicationDispense16, focus: "subject.identifier.value",
             json: md(#","subject":{"identifier":{"value":"x123456789"}}"#), answersNatively: false),
        Case(key: "kvid-1", profile: medicationDispense16, focus: "subject.identifier.value",
             json: md(#","subject":{"identifier":{"value":"X12345678"}}"#), answersNatively: false),
        Case(key: "kvid-1", profile: medicationDispense16, focus: "subject.identifier.value",
             json: md(#","subject":{"identifier":{"value":"X123456789\n"}}"#), answersNatively: false),
        Case(key: "kvid-1", profile: medicationDispense16, focus: "subject.identifier.value",
             json: md(#","subject":{"identifier":{"value":"Ä12345678"}}"#), answersNatively: false),
        Case(key: "workflow-abgabeDatumsFormat", profile: medicationDispense16, focus: "whenHandedOver",
             json: md(#","whenHandedOver":"2026-10-07""#), answersNatively: true),
        Case(key: "workflow-abgabeDatumsFormat", profile: medicationDispense16, focus: "whenHandedOver",
             json: md(#","whenHandedOver":"2026-10-07T10:00:00+02:00""#), answersNatively: true),
        Case(key: "workflow-abgabeDatumsFormat", profile: medicationDispense16, focus: "whenHandedOver",
             json: md(#","_whenHandedOver":{"extension":[{"url":"http://x","valueString":"y"}]}"#), answersNatively: true),
        Case(key: "mdd-1", profile: core + "MedicationDispense", focus: "$this",
             json: md(#","whenPrepared":"2026-10-06","whenHandedOver":"2026-10-07""#), answersNatively: true),
        Case(key: "mdd-1", profile: core + "MedicationDispense", focus: "$this",
             json: md(#","whenPrepared":"2026-10-08","whenHandedOver":"2026-10-07""#), answersNatively: true),
        Case(key: "mdd-1", profile: core + "MedicationDispense", focus: "$this",
             json: md(#","whenPrepared":"2026-10-07T10:00:00Z","whenHandedOver":"2026-10-07""#), answersNatively: false),
        Case(key: "mdd-1", profile: core + "MedicationDispense", focus: "$this",
             json: md(#","whenHandedOver":"2026-10-07""#), answersNatively: true),
        Case(key: "mdd-1", profile: core + "MedicationDispense", focus: "$this",
             json: md(#","whenPrepared":"2026-10-06","_whenHandedOver":{"extension":[{"url":"http://x","valueString":"y"}]}"#),
             answersNatively: false),
        Case(key: "rat-1", profile: core + "Ratio", focus: "amount",
             json: #"{"resourceType":"Medication","amount":{"numerator":{"value":1},"denominator":{"value":2}}}"#, answersNatively: true),
        Case(key: "rat-1", profile: core + "Ratio", focus: "amount",
             json: #"{"resourceType":"Medication","amount":{"numerator":{"value":1}}}"#, answersNatively: true),
        Case(key: "rat-1", profile: core + "Ratio", focus: "amount",
             json: #"{"resourceType":"Medication","amount":{"denominator":{"value":2}}}"#, answersNatively: true),
        Case(key: "rat-1", profile: core + "Ratio", focus: "amount",
             json: #"{"resourceType":"Medication","amount":{"extension":[{"url":"http://x","valueString":"y"}]}}"#, answersNatively: true),
        Case(key: "dom-3", profile: core + "MedicationDispense", focus: "$this", json: md(""), answersNatively: true),
        Case(key: "dom-3", profile: core + "MedicationDispense", focus: "$this",
             json: ##"{"resourceType":"MedicationDispense","contained":[{"resourceType":"Medication","id":"m"}],"status":"completed","medicationReference":{"reference":"#m"}}"##,
             answersNatively: false),
        Case(key: "epa-med-1", profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Medication|1.6", focus: "$this",
             json: #"{"resourceType":"Medication","code":{"text":"x"}}"#, answersNatively: true),
        Case(key: "epa-med-1", profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Medication|1.6", focus: "$this",
             json: #"{"resourceType":"Medication","ingredient":[{"itemCodeableConcept":{"text":"x"}}]}"#, answersNatively: true),
        Case(key: "epa-med-1", profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Medication|1.6", focus: "$this",
             json: #"{"resourceType":"Medication","form":{"text":"x"}}"#, answersNatively: true),
        Case(key: "workflow-dosageExtensionBeiDosierung", profile: medicationDispense16, focus: "$this", json: md(""), answersNatively: true),
        Case(key: "workflow-dosageExtensionBeiDosierung", profile: medicationDispense16, focus: "$this",
             json: md(#","dosageInstruction":[{"text":"1-0-1"}]"#), answersNatively: true),
        Case(key: "workflow-dosageExtensionBeiDosierung", profile: medicationDispense16, focus: "$this",
             json: #"{"resourceType":"MedicationDispense","extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationDispense.renderedDosageInstruction","valueMarkdown":"x"},{"url":"http://ig.fhir.de/igs/medication/StructureDefinition/GeneratedDosageInstructionsMeta","extension":[{"url":"algorithmVersion","valueString":"1"}]}],"status":"completed","medicationCodeableConcept":{"text":"x"},"dosageInstruction":[{"text":"1-0-1"}]}"#,
             answersNatively: true),
        Case(key: "workflow-dosageExtensionBeiDosierung", profile: medicationDispense16, focus: "$this",
             json: #"{"resourceType":"MedicationDispense","extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationDispense.renderedDosageInstruction","valueMarkdown":"x"}],"status":"completed","medicationCodeableConcept":{"text":"x"},"dosageInstruction":[{"text":"1-0-1"}]}"#,
             answersNatively: true),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"reference":"urn:uuid:3b6f2a41"}"#, id: "3b6f2a41"), answersNatively: true),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"reference":"Medication/m1"}"#, id: "m1"), answersNatively: true),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"reference":"Medication/m1"}"#, id: "m2"), answersNatively: true),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"display":"no reference"}"#, id: "m2"), answersNatively: true),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"_reference":{"extension":[{"url":"http://x","valueString":"y"}]}}"#, id: "m1"),
             answersNatively: false),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"reference":"m1"}"#, id: "m1",
                             extraParts: #",{"name":"medication","resource":{"resourceType":"Medication","id":"m1"}}"#), answersNatively: true),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"reference":"m1"}"#, id: "m1",
                             extraParts: #",{"name":"medicationDispense","resource":{"resourceType":"MedicationDispense","status":"completed","medicationReference":{"reference":"m1"}}}"#),
             answersNatively: false),
        Case(key: "workflow-parameters-close-dispense-medication-references", profile: dispense16, focus: "parameter[0]",
             json: parameter(reference: #"{"reference":"Medication/m1"}"#, id: "m1",
                             extraParts: #",{"name":"medicationDispense","resource":{"resourceType":"Medication","id":"x"}}"#),
             answersNatively: false),
    ]

    /// The invariant with `key` somewhere in the compiled profile, with how it is evaluated.
    static func invariant(_ key: String, in canonical: String) throws -> (ElementConstraint.Invariant, InvariantEvaluation)? {
        func find(_ node: ProfileNode) -> (ElementConstraint.Invariant, InvariantEvaluation)? {
            if let entry = node.invariants.first(where: { $0.invariant.key == key }) { return (entry.invariant, entry.evaluation) }
            for child in node.children + node.slices {
                if let found = find(child) { return found }
            }
            return nil
        }
        return try CompiledProfiles(repository: ours).profile(canonical).flatMap { find($0.root) }
    }

    @Test(arguments: cases) func nativeAgreesWithFHIRPath(_ testCase: Case) throws {
        let (invariant, evaluation) = try #require(try Self.invariant(testCase.key, in: testCase.profile))
        guard case .native(let check, let expression) = evaluation else {
            Issue.record("\(testCase.key) is not evaluated natively")
            return
        }
        let resource = try FHIRJSONReader().read(Array(testCase.json.utf8)).resource
        let evaluator = FHIRPathEvaluator()
        let focus = try #require(try evaluator.evaluate(try FHIRPathParser.parse(testCase.focus), on: resource).first)
        guard case .node(let element, _) = focus else {
            Issue.record("focus \(testCase.focus) is not an element")
            return
        }
        #expect(try FHIRPathParser.parse(try #require(invariant.expression)) == expression)
        let native = check(element, resource)
        #expect((native != nil) == testCase.answersNatively, "native answer: \(String(describing: native))")
        guard let native else { return }
        let items = try evaluator.evaluate(expression, on: focus, in: resource, rootResource: resource)
        #expect(native == (try FHIRPathEvaluator.boolean(items) ?? false))
    }

    /// Trees built in code, with shapes the readers never produce: each native check answers as the engine
    /// or leaves it to the engine.
    @Test func handBuiltShapesAgreeOrGoToTheEngine() throws {
        let evaluator = FHIRPathEvaluator()
        func agrees(_ key: String, _ profile: String, _ resource: Element, focus: String) throws {
            let (_, evaluation) = try #require(try Self.invariant(key, in: profile))
            guard case .native(let check, let expression) = evaluation else {
                Issue.record("\(key) is not evaluated natively")
                return
            }
            let item = try #require(try evaluator.evaluate(try FHIRPathParser.parse(focus), on: resource).first)
            guard case .node(let element, _) = item, let native = check(element, resource) else { return }
            let items = try evaluator.evaluate(expression, on: item, in: resource, rootResource: resource)
            #expect(native == (try FHIRPathEvaluator.boolean(items) ?? false), "\(key)")
        }
        // Each extension with a second `url`: the engine keeps neither.
        var dispense = try FHIRJSONReader().read(Array(#"""
            {"resourceType":"MedicationDispense","extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationDispense.renderedDosageInstruction","valueMarkdown":"x"},
             {"url":"http://ig.fhir.de/igs/medication/StructureDefinition/GeneratedDosageInstructionsMeta","valueString":"y"}],
             "status":"completed","medicationCodeableConcept":{"text":"x"},"dosageInstruction":[{"text":"1-0-1"}]}
            """#.utf8)).resource
        for index in dispense.children.indices where dispense.children[index].name == "extension" {
            dispense.children[index].children.insert(Element(name: "url", value: "http://other"), at: 1)
        }
        try agrees("workflow-dosageExtensionBeiDosierung", Self.medicationDispense16, dispense, focus: "$this")
        // The Medication's part holding an element of no concrete resource type: the engine's `resource` drops it.
        var parameters = try FHIRJSONReader().read(Array(Self.parameter(reference: #"{"reference":"Medication/m1"}"#, id: "m1").utf8)).resource
        parameters.children[0].children[2].children[1].children[0].name = "Foo"
        try agrees("workflow-parameters-close-dispense-medication-references", Self.dispense16, parameters, focus: "parameter[0]")
    }

    /// Every body of our own fixtures and of the scenario requests, against our profiles: the same issues
    /// with native checks as with every invariant in FHIRPath.
    @Test func ownFixturesGetTheSameIssuesEitherWay() throws {
        let native = ProfileValidator(profiles: CompiledProfiles(repository: Self.ours))
        let fhirPath = ProfileValidator(profiles: CompiledProfiles(repository: Self.ours, usesNativeInvariants: false))
        var compared = 0
        for directory in ["fixtures/validation/valid", "fixtures/validation/invalid", "fixtures/scenarios"] {
            let url = Self.root.appendingPathComponent(directory)
            guard let files = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) else { continue }
            for case let file as URL in files where file.pathExtension == "json" || file.pathExtension == "xml" {
                let bytes = Array(try Data(contentsOf: file))
                guard let format = FHIRFormat.sniff(bytes), let resource = try? format.read(bytes).resource else { continue }
                #expect(native.validate(resource).issues == fhirPath.validate(resource).issues, "\(file.lastPathComponent)")
                compared += 1
            }
        }
        #expect(compared >= 26)
    }

    /// The same on the corpus, against the official packages (when `../shared` is present).
    @Test(.enabled(if: CorpusAgreementTests.repository != nil, "needs ../shared/fixtures"))
    func corpusGetsTheSameIssuesEitherWay() throws {
        let repository = try #require(CorpusAgreementTests.repository)
        let native = ProfileValidator(profiles: CompiledProfiles(repository: repository))
        let fhirPath = ProfileValidator(profiles: CompiledProfiles(repository: repository, usesNativeInvariants: false))
        for row in CorpusAgreementTests.rows {
            let bytes = Array(try Data(contentsOf: CorpusAgreementTests.shared.appendingPathComponent(row.file)))
            guard let format = FHIRFormat.sniff(bytes), let resource = try? format.read(bytes).resource else { continue }
            let package = CorpusAgreementTests.package(of: row.file)
            #expect(native.validate(resource, package: package).issues == fhirPath.validate(resource, package: package).issues,
                    "\(row.file)")
        }
    }
}
