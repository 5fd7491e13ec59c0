import FHIRFormats
import FHIRModel
import Testing

/// Each rule of strict XML reading, with the issue's code, FHIRPath and line.
struct XMLStrictnessTests {
    @Test func elementsMustFollowDefinitionOrder() throws {
        let issue = try #require(xmlError("""
            <MedicationDispense \(fhirXML)><status value="completed"/>
            <identifier><value value="x"/></identifier></MedicationDispense>
            """))
        #expect(issue.code == .structure)
        #expect(issue.text.contains("out of order"))
        #expect(issue.expression == ["MedicationDispense.identifier"])
        #expect(issue.line == 2)
        // Lenient mode accepts it and puts the children in definition order.
        let lenient = try readXML("""
            <MedicationDispense \(fhirXML)><status value="completed"/><identifier><value value="x"/></identifier></MedicationDispense>
            """, .lenient)
        #expect(lenient.resource.children.map(\.name) == ["identifier", "status"])
    }

    @Test func nonRepeatingElementsAppearOnce() throws {
        let issue = try #require(xmlError("<Patient \(fhirXML)><gender value=\"male\"/><gender value=\"male\"/></Patient>"))
        #expect(issue.text.contains("appears more than once"))
    }

    @Test func twoValuesForOneChoice() throws {
        let issue = try #require(xmlError("""
            <Patient \(fhirXML)><deceasedBoolean value="true"/><deceasedDateTime value="2020"/></Patient>
            """))
        #expect(issue.text.contains("choice element 'deceased[x]'"))
    }

    @Test func elementsOutsideTheFHIRNamespace() throws {
        let issue = try #require(xmlError("<Patient \(fhirXML)><x:gender xmlns:x=\"urn:other\" value=\"male\"/></Patient>"))
        #expect(issue.text.contains("outside the FHIR namespace") || issue.text.contains("Unknown element"))
        #expect(try #require(xmlError("<Patient><gender value=\"male\"/></Patient>")).text.contains("namespace"))
        let lenient = try readXML("<Patient \(fhirXML)><x:foo xmlns:x=\"urn:other\"/><gender value=\"male\"/></Patient>", .lenient)
        #expect(lenient.resource.value(of: "gender") == "male")
        #expect(lenient.warnings.count == 1)
    }

    @Test func unknownElementsAndAttributes() throws {
        #expect(try #require(xmlError("<Patient \(fhirXML)><colour value=\"red\"/></Patient>")).text.contains("Unknown element 'colour'"))
        #expect(try #require(xmlError("<Patient \(fhirXML)><gender value=\"male\" colour=\"red\"/></Patient>")).text
            .contains("Unknown attribute 'colour'"))
    }

    @Test func textContentIsNotAllowed() throws {
        #expect(try #require(xmlError("<Patient \(fhirXML)><gender>male</gender></Patient>")).text.contains("Text content"))
    }

    @Test func emptyElementsAreRejected() throws {
        let issue = try #require(xmlError("<Patient \(fhirXML)><gender/></Patient>"))
        #expect(issue.text.contains("neither a value nor extensions"))
        #expect(issue.expression == ["Patient.gender"])
        #expect(try #require(xmlError("<Patient \(fhirXML)><meta/></Patient>")).expression == ["Patient.meta"])
        #expect(try #require(xmlError("<Patient \(fhirXML)><gender value=\"\"/></Patient>")).text.contains("Empty value"))
    }

    @Test func invalidLexicalValue() throws {
        let issue = try #require(xmlError("<Patient \(fhirXML)><birthDate value=\"1970-02-30T\"/></Patient>"))
        #expect(issue.code == .value)
        #expect(issue.expression == ["Patient.birthDate"])
    }

    @Test func ampersandInAttributesSurvives() throws {
        // libxml2's SAX2 hands `&amp;` over as `&#38;` unless entity substitution is on.
        let decoded = try readXML("<Basic \(fhirXML)><code><text value=\"A &amp; B &lt;c&gt; &#38; &quot;d&quot;\"/></code></Basic>")
        #expect(decoded.resource.descendant("code", "text")?.value == "A & B <c> & \"d\"")
        let written = text(try FHIRXMLWriter().write(decoded.resource))
        #expect(written.contains("value=\"A &amp; B &lt;c&gt; &amp; &quot;d&quot;\""))
    }

    @Test func newlinesAndTabsInAttributesRoundTrip() throws {
        let decoded = try readXML("<Basic \(fhirXML)><code><text value=\"a&#10;b&#9;c&#13;d\"/></code></Basic>")
        #expect(decoded.resource.descendant("code", "text")?.value == "a\nb\tc\rd")
        let again = try FHIRXMLReader().read(try FHIRXMLWriter().write(decoded.resource))
        #expect(again.resource == decoded.resource)
    }

    @Test func nonUTF8EncodingsAreRefused() throws {
        let issue = try #require(xmlError("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Patient \(fhirXML)/>"))
        #expect(issue.text.contains("UTF-8"))
        var bytes = Array("<Patient \(fhirXML)><gender value=\"male\"/></Patient>".utf8)
        bytes[bytes.count - 15] = 0xE9  // a Latin-1 'é' inside the value
        #expect(throws: FHIRFormatError.self) { try FHIRXMLReader().read(bytes) }
    }

    @Test func malformedXMLReportsLineAndColumn() throws {
        let issue = try #require(xmlError("<Patient \(fhirXML)>\n<gender value=\"male\">\n</Patient>"))
        #expect(issue.code == .structure)
        #expect(issue.text.hasPrefix("Malformed XML"))
        #expect(issue.line == 3)
    }

    @Test func idAndURLMustBeAttributes() throws {
        #expect(try #require(xmlError("""
            <Patient \(fhirXML)><extension><url value="http://x"/><valueBoolean value="true"/></extension></Patient>
            """)).text.contains("must be written as an XML attribute"))
    }
}
