import FHIRFormats
import FHIRModel
import Testing

/// Inputs found in review that crashed, changed data, or were accepted but could not be read back.
struct ReviewRegressionTests {
    static func divDocument(prefix: String = "", body: String) -> String {
        "<?xml version=\"1.0\"\(prefix)?><Patient \(fhirXML)><text><status value=\"generated\"/>"
            + "<div xmlns=\"http://www.w3.org/1999/xhtml\">\(body)</div></text></Patient>"
    }

    @Test func anEncodingDeclaredLateCannotShiftTheNarrativeOffsets() throws {
        let late = Self.divDocument(prefix: String(repeating: " ", count: 300) + " encoding=\"UTF-7\"",
                                    body: String(repeating: "<p/>", count: 2000))
        // Either refused, or read with the div exactly as written; never the document prefix.
        if let decoded = try? readXML(late) {
            #expect(decoded.resource.descendant("text", "div")?.value?.hasPrefix("<div xmlns") == true)
        }
    }

    @Test func utf16WithoutByteOrderMarkIsRefused() throws {
        let utf16 = Array(Self.divDocument(body: "x").utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(throws: FHIRFormatError.self) { try FHIRXMLReader().read(utf16) }
    }

    @Test func anExtensionPartMustMatchTheChoiceTypeItExtends() throws {
        let input = #"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1.50},"_valueString":{"id":"a"}}"#
        #expect(try #require(jsonError(input)).text.contains("'_valueString' does not match the value 'valueQuantity'"))
        let lenient = try readJSON(input, .lenient).resource
        #expect(lenient.descendant("valueQuantity", "value")?.value == "1.50")
    }

    @Test func placeholdersAreCountedPerObject() throws {
        let input = #"{"resourceType":"Patient","name":[{"given":["A",null],"_given":[null,{"id":"x"}]},{"given":[null]}]}"#
        #expect(try #require(jsonError(input)).text.contains("null in 'given'"))
    }

    @Test func anEmptyExtensionPartLeavesNoEmptyElement() throws {
        let decoded = try readJSON(#"{"resourceType":"Patient","name":[{"family":"F","given":[null],"_given":[{}]}]}"#, .lenient)
        let written = try FHIRXMLWriter().write(decoded.resource)
        #expect(try FHIRXMLReader().read(written).resource == decoded.resource)
    }

    @Test func namespaceDeclarationGoesAfterTheTagNameWhateverTheWhitespace() throws {
        let xml = "<f:Patient xmlns:f=\"http://hl7.org/fhir\" xmlns=\"http://www.w3.org/1999/xhtml\"><f:text>"
            + "<f:status value=\"generated\"/><div\tclass=\"a b\">x</div></f:text></f:Patient>"
        let div = try readXML(xml).resource.descendant("text", "div")?.value
        #expect(div == "<div xmlns=\"http://www.w3.org/1999/xhtml\"\tclass=\"a b\">x</div>")
        let json = try FHIRJSONWriter().write(try readXML(xml).resource)
        #expect(try FHIRJSONReader().read(json).resource.descendant("text", "div")?.value == div)
    }

    @Test func aPrefixDeclaredOnAnAncestorIsDeclaredOnTheDiv() throws {
        let xml = "<Basic \(fhirXML) xmlns:h=\"http://www.w3.org/1999/xhtml\"><text><status value=\"generated\"/><h:div>x</h:div></text></Basic>"
        let tree = try readXML(xml).resource
        #expect(tree.descendant("text", "div")?.value == #"<h:div xmlns:h="http://www.w3.org/1999/xhtml">x</h:div>"#)
        #expect(try FHIRJSONReader().read(try FHIRJSONWriter().write(tree)).resource == tree)
    }

    @Test(arguments: [
        #"<?xml version=\"1.0\"?><div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"#,
        #"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div><?pi?>"#,
        #"<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div><!--c-->"#,
        #"\n<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"#,
        #"\uFEFF<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"#,
    ])
    func narrativeStringsHoldOneDivAndNothingElse(_ div: String) throws {
        let issue = try #require(jsonError(#"{"resourceType":"Basic","text":{"status":"generated","div":"\#(div)"}}"#))
        #expect(issue.expression == ["Basic.text.div"])
    }

    @Test func nonCharactersAreRefused() throws {
        #expect(try #require(jsonError(#"{"resourceType":"Basic","code":{"text":"a\uFFFF"}}"#)).code == .value)
        #expect(try #require(jsonError(#"{"resourceType":"Basic","implicitRules":"urn:x\uFFFE"}"#)).code == .value)
    }

    @Test func manyWarningsStayCheapAndBounded() throws {
        var input = #"{"resourceType":"Patient""#
        for index in 0..<20_000 { input += ",\"x\(index)\":0" }
        input += "}"
        let clock = ContinuousClock()
        var warnings = 0
        let elapsed = try clock.measure { warnings = try readJSON(input, .lenient).warnings.count }
        #expect(warnings == 101)
        #expect(elapsed < .seconds(2))
    }

    @Test func limitsMeanTheSameInBothFormats() throws {
        let limits = DecodingOptions(limits: .init(maxDepth: 6, maxStringBytes: 10))
        let digits = String(repeating: "1", count: 11)
        #expect(try #require(jsonError(#"{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueInteger":\#(digits)}"#, limits)).code == .tooLong)
        // Ten decoded bytes pass in XML even though libxml2 hands over `&#38;` for each `&`.
        #expect(throws: Never.self) { try readXML("<Basic \(fhirXML)><code><text value=\"&amp;&amp;&amp;&amp;&amp;\"/></code></Basic>", limits) }
        // Depth counts element nesting, `resource` wrappers included, in both readers.
        let nested = #"{"resourceType":"Parameters","parameter":[{"name":"a","resource":{"resourceType":"Basic","code":{"coding":[{"code":"x"}]}}}]}"#
        let tree = try readJSON(nested, DecodingOptions(limits: .init(maxDepth: 7))).resource
        #expect(jsonError(nested, DecodingOptions(limits: .init(maxDepth: 6)))?.code == .tooCostly)
        let xml = try FHIRXMLWriter().write(tree)
        #expect(throws: Never.self) { try FHIRXMLReader(options: DecodingOptions(limits: .init(maxDepth: 7))).read(xml) }
        #expect(throws: FHIRFormatError.self) { try FHIRXMLReader(options: DecodingOptions(limits: .init(maxDepth: 6))).read(xml) }
    }

    @Test func lenientXMLRefusesRepeatsOfNonRepeatingElementsOutOfOrder() throws {
        let xml = "<Patient \(fhirXML)><name><family value=\"A\"/><given value=\"B\"/><family value=\"C\"/></name></Patient>"
        let decoded = try readXML(xml, .lenient)
        #expect(decoded.resource.child("name")?.children(named: "family").count == 1)
        #expect(throws: Never.self) { try FHIRJSONWriter().write(decoded.resource) }
    }

    @Test func escapedResourceTypeIsRead() throws {
        #expect(try readJSON(#"{"resource\u0054ype":"Pat\u0069ent","gender":"male"}"#).resource.name == "Patient")
    }

    @Test func keysInMessagesAreEscapedAndShort() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Patient","a\u0001b":1}"#))
        #expect(!issue.text.unicodeScalars.contains { $0.value < 0x20 })
        #expect(throws: Never.self) { try FHIRXMLWriter().write(OperationOutcome(issues: [issue]).element) }
        let long = try #require(jsonError(#"{"resourceType":"Patient","\#(String(repeating: "k", count: 500))":1}"#))
        #expect(long.text.count < 150)
    }
}
