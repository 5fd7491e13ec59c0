import FHIRFormats
import FHIRModel
import Testing

/// Each rule of strict JSON reading: the error, its issue code, its FHIRPath and its line/column;
/// and what lenient mode makes of the same input.
struct JSONStrictnessTests {
    @Test func unknownElementNamesItsPath() throws {
        let issue = try #require(jsonError("""
            {"resourceType":"MedicationDispense","status":"completed",
             "quantity":{"value":1,"colour":"red"}}
            """))
        #expect(issue.code == .structure)
        #expect(issue.expression == ["MedicationDispense.quantity"])
        #expect(issue.text.contains("'colour'"))
        #expect(issue.line == 2 && issue.column == 24)
    }

    @Test func lenientDropsUnknownElementsWithAWarning() throws {
        let decoded = try readJSON(#"{"resourceType":"Basic","code":{"text":"x"},"colour":"red"}"#, .lenient)
        #expect(decoded.resource.child("colour") == nil)
        #expect(decoded.warnings.map(\.code) == [.structure])
    }

    @Test(arguments: [
        (#"{"resourceType":"Patient","active":"false"}"#, "a JSON boolean"),
        (#"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":"1.50"}}"#, "a JSON number"),
        (#"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":true}}"#, "a JSON number"),
        (#"{"resourceType":"MedicationDispense","status":7}"#, "a JSON string"),
    ])
    func wrongJSONTypes(input: String, expected: String) throws {
        let issue = try #require(jsonError(input))
        #expect(issue.code == .structure)
        #expect(issue.text.contains(expected))
    }

    @Test func lenientCoercesAStringDecimalKeepingItsText() throws {
        let decoded = try readJSON(#"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":"1.50"}}"#,
                                   .lenient)
        #expect(decoded.resource.descendant("quantity", "value")?.value == "1.50")
        #expect(decoded.warnings.count == 1)
    }

    @Test(arguments: [
        (#"{"resourceType":"Patient","gender":""}"#, "Empty string", "Patient.gender"),
        (#"{"resourceType":"Patient","maritalStatus":{}}"#, "Empty object", "Patient.maritalStatus"),
        (#"{"resourceType":"Patient","name":[]}"#, "Empty array", "Patient.name"),
    ])
    func emptyValues(input: String, message: String, path: String) throws {
        let issue = try #require(jsonError(input))
        #expect(issue.text.contains(message))
        #expect(issue.expression == [path])
    }

    @Test func twoValuesForOneChoice() throws {
        let issue = try #require(jsonError("""
            {"resourceType":"MedicationDispense","status":"completed",
             "medicationCodeableConcept":{"text":"a"},"medicationReference":{"reference":"Medication/x"}}
            """))
        #expect(issue.text.contains("choice element 'medication[x]'"))
    }

    @Test func objectWhereAnArrayBelongs() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","name":{"family":"X"}}"#))
        #expect(issue.text.contains("Expected an array"))
        #expect(issue.expression == ["Patient.name"])
        let lenient = try readJSON(#"{"resourceType":"Patient","name":{"family":"X"}}"#, .lenient)
        #expect(lenient.resource.descendant("name", "family")?.value == "X")
    }

    @Test func arrayWhereASingleValueBelongs() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","gender":["male"]}"#))
        #expect(issue.text.contains("single value"))
    }

    @Test func duplicateKeys() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","gender":"male","gender":"female"}"#))
        #expect(issue.text == "Duplicate key 'gender'")
        let lenient = try readJSON(#"{"resourceType":"Patient","gender":"male","gender":"female"}"#, .lenient)
        #expect(lenient.resource.value(of: "gender") == "male")
    }

    @Test func missingAndUnknownResourceType() throws {
        #expect(try #require(jsonError(#"{"gender":"male"}"#)).text.contains("Missing resourceType"))
        #expect(try #require(jsonError(#"{"resourceType":"Prescription"}"#)).text.contains("Unknown resourceType"))
        #expect(try #require(jsonError(#"{"resourceType":"DomainResource"}"#)).text.contains("Unknown resourceType"))
        // Missing is an error in lenient mode too: nothing can be read without it.
        #expect(try #require(jsonError(#"{"gender":"male"}"#, .lenient)).code == .structure)
    }

    @Test func resourceTypeNeedNotComeFirst() throws {
        let decoded = try readJSON(#"{"gender":"male","resourceType":"Patient","id":"a"}"#)
        #expect(decoded.resource.children.map(\.name) == ["id", "gender"])
    }

    @Test func invalidUTF8IsRejected() throws {
        var bytes = Array(#"{"resourceType":"Patient","gender":"male"}"#.utf8)
        bytes[bytes.count - 4] = 0xFF
        #expect(throws: FHIRFormatError.self) { try FHIRJSONReader().read(bytes) }
        let lone = Array(#"{"resourceType":"Basic","code":{"text":"\ud800"}}"#.utf8)
        #expect(throws: FHIRFormatError.self) { try FHIRJSONReader().read(lone) }
    }

    @Test(arguments: [
        #"{"resourceType":"Patient","gender":"male""#,
        #"{"resourceType":"Patient","gender":"ma"#,
        #"{"resourceType":"Patient","gender" "male"}"#,
        #"{"resourceType":"Patient","gender":"male",}"#,
        #"{"resourceType":"Patient"} trailing"#,
        #"{"resourceType":"Patient","multipleBirthInteger":01}"#,
        "",
        "[]",
    ])
    func malformedOrTruncated(input: String) throws {
        let issue = try #require(jsonError(input))
        #expect(issue.code == .structure)
        #expect(issue.line != nil || input.isEmpty)
    }

    @Test func invalidLexicalValuesNameTheType() throws {
        let issue = try #require(jsonError(#"{"resourceType":"MedicationDispense","status":"completed","whenHandedOver":"2025-13-01"}"#))
        #expect(issue.code == .value)
        #expect(issue.text == "Invalid dateTime value for 'whenHandedOver'")
        #expect(!issue.text.contains("2025"), "values may be personal data and are not echoed")
    }

    @Test func nullWithoutExtensionIsRejected() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","name":[{"given":["A",null]}]}"#))
        #expect(issue.text.contains("null"))
        #expect(try #require(jsonError(#"{"resourceType":"Patient","gender":null}"#)).text.contains("null"))
    }

    @Test func extensionPartCountMustMatch() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","name":[{"given":["A","B"],"_given":[{"id":"x"}]}]}"#))
        #expect(issue.text.contains("has 1 entries but 'given' has 2"))
    }

    @Test func underscoreOnlyOnPrimitives() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","_name":[{"id":"x"}]}"#))
        #expect(issue.text.contains("only allowed on primitive"))
    }
}
