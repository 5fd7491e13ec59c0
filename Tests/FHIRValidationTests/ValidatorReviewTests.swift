import ErxProfiles
import FHIRFormats
import FHIRModel
@testable import FHIRValidation
import Foundation
import Testing

/// Regressions for the findings of an independent review of the validator.
struct ValidatorReviewTests {
    static func resource(_ json: String) throws -> Element {
        try FHIRJSONReader().read(Array(json.utf8)).resource
    }

    static func validator(_ definitions: [String]) throws -> ProfileValidator {
        var repository = try ErxProfiles.repository()
        for text in definitions { repository.add(try resource(text), source: "test") }
        return ProfileValidator(profiles: CompiledProfiles(repository: repository))
    }

    static func profile(_ url: String, base: String, type: String = "MedicationDispense", kind: String = "resource",
                        _ elements: String) -> String {
        """
        {"resourceType":"StructureDefinition","url":"\(url)","name":"T","status":"active","kind":"\(kind)","abstract":false,
         "type":"\(type)","baseDefinition":"\(base)","derivation":"constraint","differential":{"element":[\(elements)]}}
        """
    }

    @Test func cyclicBasesAreAnErrorNotACrash() throws {
        let validator = try Self.validator([
            Self.profile("https://example.org/A", base: "https://example.org/B", #"{"id":"MedicationDispense","path":"MedicationDispense"}"#),
            Self.profile("https://example.org/B", base: "https://example.org/A", #"{"id":"MedicationDispense","path":"MedicationDispense"}"#),
        ])
        #expect(throws: ValidationSetupError.self) { _ = try validator.profiles.profile("https://example.org/A") }
        let outcome = validator.validate(try Self.resource(#"{"resourceType":"MedicationDispense","status":"completed"}"#),
                                         profile: "https://example.org/A")
        #expect(outcome.issues.contains { $0.text.contains("depends on itself") })
    }

    @Test func newSlicesDoNotInheritTheSlicedElementsMinimum() throws {
        let validator = try Self.validator([Self.profile("https://example.org/S", base: "http://hl7.org/fhir/StructureDefinition/MedicationDispense", """
            {"id":"MedicationDispense.identifier","path":"MedicationDispense.identifier","min":1,
             "slicing":{"discriminator":[{"type":"pattern","path":"system"}],"rules":"open"}},
            {"id":"MedicationDispense.identifier:a","path":"MedicationDispense.identifier","sliceName":"a","max":"1"},
            {"id":"MedicationDispense.identifier:a.system","path":"MedicationDispense.identifier.system","patternUri":"https://a"},
            {"id":"MedicationDispense.identifier:b","path":"MedicationDispense.identifier","sliceName":"b","max":"1"},
            {"id":"MedicationDispense.identifier:b.system","path":"MedicationDispense.identifier.system","patternUri":"https://b"}
            """)])
        let outcome = validator.validate(try Self.resource(
            #"{"resourceType":"MedicationDispense","identifier":[{"system":"https://a","value":"1"}],"status":"completed","medicationCodeableConcept":{"text":"x"}}"#),
            profile: "https://example.org/S")
        #expect(!outcome.hasErrors, "\(outcome.issues.map(\.summary))")
    }

    @Test func aSliceWhoseDiscriminatorCannotBeEvaluatedTakesNothing() throws {
        // Slice `missing` names an extension profile that is not loaded: the Flag extension must not be
        // filed under it (and so escape its own checks).
        let validator = try Self.validator([
            Self.profile("https://example.org/E", base: "http://hl7.org/fhir/StructureDefinition/MedicationDispense", """
                {"id":"MedicationDispense.extension","path":"MedicationDispense.extension","slicing":{"discriminator":[{"type":"value","path":"url"}],"rules":"open"}},
                {"id":"MedicationDispense.extension:missing","path":"MedicationDispense.extension","sliceName":"missing","max":"1",
                 "type":[{"code":"Extension","profile":["https://example.org/Nowhere"]}]},
                {"id":"MedicationDispense.extension:flag","path":"MedicationDispense.extension","sliceName":"flag","max":"1",
                 "type":[{"code":"Extension","profile":["https://example.org/Flag"]}]}
                """),
            Self.profile("https://example.org/Flag", base: "http://hl7.org/fhir/StructureDefinition/Extension", type: "Extension",
                         kind: "complex-type", """
                {"id":"Extension.url","path":"Extension.url","fixedUri":"https://example.org/Flag"},
                {"id":"Extension.value[x]","path":"Extension.value[x]","type":[{"code":"boolean"}]}
                """),
        ])
        let outcome = validator.validate(try Self.resource("""
            {"resourceType":"MedicationDispense","extension":[{"url":"https://example.org/Flag","valueString":"x"}],"status":"completed"}
            """), profile: "https://example.org/E")
        #expect(outcome.issues.contains { $0.severity == .error && $0.expression == ["MedicationDispense.extension[0].valueString"] },
                "\(outcome.issues.map(\.summary))")
    }

    @Test func aChoiceSliceAdmitsOnlyItsType() throws {
        let validator = try Self.validator([
            Self.profile("https://example.org/C", base: "http://hl7.org/fhir/StructureDefinition/Extension", type: "Extension",
                         kind: "complex-type", """
                {"id":"Extension.url","path":"Extension.url","fixedUri":"https://example.org/C"},
                {"id":"Extension.value[x]:valueCoding","path":"Extension.value[x]","sliceName":"valueCoding","min":1},
                {"id":"Extension.value[x]:valueCoding.system","path":"Extension.value[x].system","min":1}
                """)
        ])
        let profile = try #require(try validator.profiles.profile("https://example.org/C"))
        let slice = try #require(profile.root.child(named: "valueCoding")?.slices.first)
        #expect(slice.constraint.types.map(\.code) == ["Coding"])
    }

    @Test func anExtensionURLNamingAResourceDefinitionIsAnError() throws {
        let validator = try Self.validator([])
        let outcome = validator.validate(try Self.resource("""
            {"resourceType":"MedicationDispense","extension":[{"url":"http://hl7.org/fhir/StructureDefinition/Patient","valueBoolean":true}],
             "status":"completed"}
            """))
        #expect(outcome.issues.contains { $0.code == .extension && $0.expression == ["MedicationDispense.extension[0]"] })
    }

    /// An extension element without children (only a tree built in code has one) still lacks its url:
    /// the walk's pass over leaves with nothing to check does not take extensions.
    @Test func anEmptyExtensionStillLacksItsURL() throws {
        var dispense = try Self.resource(#"{"resourceType":"MedicationDispense","status":"completed","medicationCodeableConcept":{"text":"x"}}"#)
        dispense.children.insert(Element(name: "extension"), at: 0)
        let outcome = try Self.validator([]).validate(dispense, profile: "http://hl7.org/fhir/StructureDefinition/MedicationDispense")
        #expect(outcome.issues.contains {
            $0.text == "Extension.url: minimum required = 1, but only found 0" && $0.expression == ["MedicationDispense.extension[0].url"]
        })
    }

    /// `Parameters.parameter.part` refers to `Parameters.parameter` by content reference: it takes
    /// the core definition, not the profile's (whose `name` pattern is the parameter's), as the
    /// ePA `*-erp` input profiles need: their parameters are named `rxDispensation`, their parts not.
    @Test func aContentReferenceTakesTheUnconstrainedDefinition() throws {
        let validator = try Self.validator([Self.profile("https://example.org/P", base: "http://hl7.org/fhir/StructureDefinition/Parameters",
                                                         type: "Parameters", """
            {"id":"Parameters.parameter","path":"Parameters.parameter","min":1},
            {"id":"Parameters.parameter.name","path":"Parameters.parameter.name","patternString":"rx"},
            {"id":"Parameters.parameter.value[x]","path":"Parameters.parameter.value[x]","max":"0"},
            {"id":"Parameters.parameter.part","path":"Parameters.parameter.part","min":1,
             "slicing":{"discriminator":[{"type":"pattern","path":"name"}],"rules":"open"}},
            {"id":"Parameters.parameter.part:id","path":"Parameters.parameter.part","sliceName":"id","min":1,"max":"1"},
            {"id":"Parameters.parameter.part:id.name","path":"Parameters.parameter.part.name","patternString":"id"},
            {"id":"Parameters.parameter.part:id.value[x]","path":"Parameters.parameter.part.value[x]","min":1,"type":[{"code":"string"}]}
            """)])
        let valid = try Self.resource("""
            {"resourceType":"Parameters","parameter":[{"name":"rx","part":[{"name":"id","valueString":"1"},{"name":"other","part":[{"name":"x","valueString":"y"}]}]}]}
            """)
        let outcome = validator.validate(valid, profile: "https://example.org/P")
        #expect(!outcome.hasErrors, "\(outcome.issues.map(\.summary))")
        let invalid = try Self.resource(#"{"resourceType":"Parameters","parameter":[{"name":"rx","part":[{"name":"other","valueString":"1"}]}]}"#)
        #expect(validator.validate(invalid, profile: "https://example.org/P").issues.map(\.text).contains {
            $0.contains("part:id: minimum required = 1")
        })
    }
}
