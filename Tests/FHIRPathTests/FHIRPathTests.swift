import FHIRFormats
import FHIRModel
import FHIRPath
import Foundation
import Testing

/// The FHIRPath subset on real trees, including invariants of the R4 core and gematik dispensing profiles.
struct FHIRPathTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func fixture(_ name: String) throws -> Element {
        let bytes = Array(try Data(contentsOf: root.appendingPathComponent("fixtures/codec/\(name)")))
        return try FHIRJSONReader().read(bytes).resource
    }

    static func json(_ text: String) throws -> Element { try FHIRJSONReader().read(Array(text.utf8)).resource }

    let evaluator = FHIRPathEvaluator()

    func eval(_ expression: String, _ resource: Element) throws -> [FHIRPathItem] {
        try evaluator.evaluate(try FHIRPathParser.parse(expression), on: resource)
    }

    func holds(_ expression: String, _ resource: Element) throws -> Bool {
        try evaluator.holds(try FHIRPathParser.parse(expression), on: resource)
    }

    @Test func parsesByPrecedence() throws {
        #expect(try FHIRPathParser.parse("a or b and c") == .binary("or", .member(nil, "a"), .binary("and", .member(nil, "b"), .member(nil, "c"))))
        #expect(try FHIRPathParser.parse("a implies b or c") == .binary("implies", .member(nil, "a"), .binary("or", .member(nil, "b"), .member(nil, "c"))))
        #expect(try FHIRPathParser.parse("x.where(y = 'z').exists()")
            == .call(.call(.member(nil, "x"), "where", [.binary("=", .member(nil, "y"), .string("z"))]), "exists", []))
        #expect(try FHIRPathParser.parse("1 + 2 * 3 = 7") == .binary("=", .binary("+", .number("1"), .binary("*", .number("2"), .number("3"))), .number("7")))
        #expect(throws: FHIRPathError.self) { try FHIRPathParser.parse("a.(b") }
        #expect(throws: FHIRPathError.self) { try FHIRPathParser.parse("'unterminated") }
    }

    @Test func navigatesChoiceTypesByDefinition() throws {
        let dispense = try Self.fixture("medicationdispense-example.json")
        #expect(try eval("MedicationDispense.medication.reference", dispense).count == 1)
        #expect(try eval("medication.ofType(Reference).reference.exists()", dispense) == [.boolean(true)])
        #expect(try eval("medication.ofType(CodeableConcept).exists()", dispense) == [.boolean(false)])
        #expect(try eval("quantity.value", dispense).first.flatMap { if case .node(let e, _) = $0 { e.value } else { nil } } == "1.50")
        #expect(try eval("quantity.value > 1.4 and quantity.value < 1.6", dispense) == [.boolean(true)])
        // `value` finds `valueString` through the definition of value[x], not by a name prefix.
        let basic = try Self.json(#"{"resourceType":"Basic","code":{"text":"x"},"extension":[{"url":"http://x","valueString":"s"}]}"#)
        #expect(try eval("extension.value", basic).count == 1)
        #expect(try eval("extension.valueString", basic).count == 1, "concrete choice names are accepted, as the HL7 engine does")
        #expect(try eval("extension.valueBoolean", basic).count == 0)
        // A stem is matched as a choice only: `value` does not find a sibling that merely starts with it.
        #expect(try eval("code.text", basic).count == 1)
        #expect(try eval("code.te", basic).isEmpty)
    }

    /// Names are resolved when parsed; one the engine does not know still parses, and evaluating it
    /// says which, so the validator can report the invariant as not checked.
    /// Integer arithmetic never traps: what has no integer answer is empty (the fuzzer's finding
    /// in CI was the negation of the least integer).
    @Test func integerEdgesAreEmptyNotATrap() throws {
        let resource = try Self.json(#"{"resourceType": "Basic", "id": "b"}"#)
        #expect(try eval("-(-9223372036854775807 - 1)", resource).isEmpty)
        #expect(try eval("(-9223372036854775807 - 1) div -1", resource).isEmpty)
        #expect(try eval("-(-9223372036854775807)", resource) == [.integer(9_223_372_036_854_775_807)])
    }

    @Test func anUnknownFunctionParsesAndFailsWhenEvaluated() throws {
        let expression = try FHIRPathParser.parse("status.frobnicate()")
        #expect(expression == .call(.member(nil, "status"), "frobnicate", []))
        let dispense = try Self.fixture("medicationdispense-example.json")
        #expect(throws: FHIRPathError("unsupported function frobnicate()")) { try evaluator.evaluate(expression, on: dispense) }
        #expect(FHIRPathEvaluator.functions.contains("where") && FHIRPathEvaluator.functions.count == 39)
    }

    @Test func functionsAndThreeValuedLogic() throws {
        let dispense = try Self.fixture("medicationdispense-example.json")
        #expect(try eval("identifier.where(system = 'https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId').value.matches('[0-9]{3}(\\\\.[0-9]{3}){4}\\\\.[0-9]{2}')", dispense) == [.boolean(true)])
        #expect(try eval("identifier.value.matches('160')", dispense) == [.boolean(false)], "matches is a whole-string match")
        #expect(try eval("performer.count() = 1 and performer.all(actor.identifier.exists())", dispense) == [.boolean(true)])
        #expect(try eval("whenHandedOver.toString().length()", dispense) == [.integer(10)])
        #expect(try eval("medication.reference.split(':').last()", dispense) == [.string("a5b1c2d3-0000-4000-8000-000000000001")])
        #expect(try eval("identifier.value.substring(0, 3)", dispense) == [.string("160")])
        // split keeps empty pieces, with one-character and longer separators alike.
        #expect(try eval("'a//b/'.split('/')", dispense) == ["a", "", "b", ""].map(FHIRPathItem.string))
        #expect(try eval("'a::b::'.split('::')", dispense) == ["a", "b", ""].map(FHIRPathItem.string))
        #expect(try eval("'abc'.split('x')", dispense) == [.string("abc")])
        #expect(try eval("'Ärztin/é́/'.split('/')", dispense) == ["Ärztin", "é́", ""].map(FHIRPathItem.string))
        // Cut between scalars, as the HL7 engine does: a CR LF pair is no obstacle.
        #expect(try eval("'a\\r\\nb'.split('\\n')", dispense) == ["a\r", "b"].map(FHIRPathItem.string))
        #expect(try eval("'Medication/urn:uuid:1'.split('/').last().split(':').last()", dispense) == [.string("1")])
        #expect(try eval("nothing.exists() or true", dispense) == [.boolean(true)])
        #expect(try eval("nothing and true", dispense) == [])
        #expect(try eval("nothing and false", dispense) == [.boolean(false)])
        #expect(try eval("false implies nothing", dispense) == [.boolean(true)])
        #expect(try eval("(1 | 2 | 2).count()", dispense) == [.integer(2)])
        #expect(try eval("iif(status = 'completed', 'yes', 'no')", dispense) == [.string("yes")])
        #expect(throws: FHIRPathError.self) { try eval("memberOf('http://x')", dispense) }
    }

    @Test("mdd-1: whenHandedOver is not before whenPrepared")
    func mdd1() throws {
        let rule = "whenHandedOver.empty() or whenPrepared.empty() or whenHandedOver >= whenPrepared"
        #expect(try holds(rule, try Self.fixture("medicationdispense-example.json")))
        let late = try Self.json(#"{"resourceType":"MedicationDispense","status":"completed","whenPrepared":"2025-01-16","whenHandedOver":"2025-01-15"}"#)
        #expect(try !holds(rule, late))
    }

    @Test("workflow-abgabeDatumsFormat: plain dates only")
    func abgabeDatumsFormat() throws {
        let dispense = try Self.json(#"{"resourceType":"MedicationDispense","status":"completed","whenHandedOver":"2025-01-15T10:00:00+01:00"}"#)
        let node = try #require(try eval("whenHandedOver", dispense).first)
        let rule = try FHIRPathParser.parse("toString().length()=10")
        #expect(try FHIRPathEvaluator.boolean(try evaluator.evaluate(rule, on: node, in: dispense)) == false)
    }

    @Test("workflow-parameters-close-dispense-medication-references")
    func medicationReferences() throws {
        let dispense = try Self.fixture("medicationdispense-example.json")
        let medication = try Self.fixture("medication-example.json")
        func parameters(_ medication: Element) throws -> Element {
            let text = #"{"resourceType":"Parameters","parameter":[{"name":"rxDispensation","part":[{"name":"medicationDispense","resource":"#
                + String(decoding: try FHIRJSONWriter().write(dispense), as: UTF8.self) + #"},{"name":"medication","resource":"#
                + String(decoding: try FHIRJSONWriter().write(medication), as: UTF8.self) + "}]}]}"
            return try Self.json(text)
        }
        let rule = try FHIRPathParser.parse("""
            part.where(name = 'medicationDispense').resource.medication.ofType(Reference).reference.exists() implies \
            ((part.where(name = 'medicationDispense').resource.medication.reference.split('/').last().split(':').last()) \
            = (part.where(name = 'medication').resource.id))
            """)
        func check(_ parameters: Element) throws -> Bool? {
            let parameter = try #require(try eval("parameter", parameters).first)
            return try FHIRPathEvaluator.boolean(try evaluator.evaluate(rule, on: parameter, in: parameters))
        }
        #expect(try check(try parameters(medication)) == true)
        var other = medication
        other.children[0].value = "a5b1c2d3-0000-4000-8000-000000000999"
        #expect(try check(try parameters(other)) == false)
    }

    @Test func resolvesReferencesWithinTheResource() throws {
        let bundle = try Self.json("""
            {"resourceType":"Bundle","type":"collection","entry":[
              {"fullUrl":"urn:uuid:a5b1c2d3-0000-4000-8000-000000000001","resource":{"resourceType":"Medication","id":"a5b1c2d3-0000-4000-8000-000000000001","code":{"text":"M"}}},
              {"fullUrl":"https://x/MedicationDispense/d","resource":{"resourceType":"MedicationDispense","id":"d","status":"completed",
                "medicationReference":{"reference":"urn:uuid:a5b1c2d3-0000-4000-8000-000000000001"}}}]}
            """)
        #expect(try eval("entry.resource.ofType(MedicationDispense).medication.resolve().code.text", bundle).count == 1)
        let contained = try Self.json("""
            {"resourceType":"MedicationDispense","status":"completed","contained":[{"resourceType":"Medication","id":"m","code":{"text":"C"}}],
             "medicationReference":{"reference":"#m"}}
            """)
        #expect(try eval("medication.resolve() is Medication", contained) == [.boolean(true)])
    }

    /// `where(child = 'literal')` is filtered in place; it answers as the same comparison written the
    /// other way round (`'literal' = child`), which takes the general path.
    @Test(arguments: [
        "extension.where(url = 'http://a')",
        "extension.where(url = 'http://none')",
        "identifier.where(system = 'http://s')",
        "identifier.where(value = 'X1')",
        "identifier.where(use = 'official')",
        "medicationCodeableConcept.coding.where(code = '1')",
        "medicationCodeableConcept.coding.where(system = 'http://c')",
        "dosageInstruction.where(sequence = '1')",
        "dosageInstruction.where(asNeededBoolean = 'true')",
        "substitution.where(wasSubstituted = 'false')",
        "where(status = 'completed')",
        "whenHandedOver.where(id = 'w')",
        "identifier.where(type = 'x')",
    ])
    func whereChildEqualsLiteralAnswersAsTheGeneralComparison(_ expression: String) throws {
        let resource = try Self.json(#"""
            {"resourceType":"MedicationDispense","extension":[{"url":"http://a","valueString":"1"},{"url":"http://b","valueString":"2"},
             {"url":"http://a","valueString":"3"}],"identifier":[{"system":"http://s","value":"X1"},{"_system":{"extension":[{"url":"http://e","valueString":"x"}]},"value":"X2"},
             {"use":"official","type":{"text":"x"}}],"status":"completed",
             "medicationCodeableConcept":{"coding":[{"system":"http://c","code":"1"},{"code":"2"},{"system":"http://c","code":"1"}]},
             "_whenHandedOver":{"id":"w"},"dosageInstruction":[{"sequence":1,"asNeededBoolean":true},{"sequence":2}],
             "substitution":{"wasSubstituted":false}}
            """#)
        let parsed = try FHIRPathParser.parse(expression)
        guard case .call(let base, let function, let arguments) = parsed, function.text == "where",
            case .binary(let op, let member, let literal) = arguments[0]
        else {
            Issue.record("not a where(child = literal): \(expression)")
            return
        }
        let reversed = FHIRPathExpression.call(base, function, [.binary(op, literal, member)])
        #expect(try evaluator.evaluate(parsed, on: resource) == evaluator.evaluate(reversed, on: resource))
        // The same with the compared child given twice (only a tree built in code has that): nothing kept.
        var doubled = resource
        for index in doubled.children.indices {
            for inner in doubled.children[index].children.indices {
                let child = doubled.children[index].children[inner]
                doubled.children[index].children.insert(child, at: inner)
                break
            }
        }
        #expect(try evaluator.evaluate(parsed, on: doubled) == evaluator.evaluate(reversed, on: doubled))
    }
}
