import FHIRFormats
import FHIRModel
import Foundation
import Testing

/// What must survive JSON ↔ XML ↔ JSON: decimal text, `_element` ids and extensions, sparse primitive
/// arrays, unknown extensions, element order and XHTML narrative.
struct FidelityTests {
    static let json = try! Locations.bytes(Locations.ownFixtures.appendingPathComponent("codec/medicationdispense-fidelity.json"))
    static let xml = try! Locations.bytes(Locations.ownFixtures.appendingPathComponent("codec/medicationdispense-fidelity.xml"))

    @Test func jsonToXMLToJSONKeepsEveryValue() throws {
        let tree = try FHIRJSONReader().read(Self.json).resource
        let viaXML = try FHIRXMLReader().read(try FHIRXMLWriter().write(tree)).resource
        #expect(viaXML == tree)
        #expect(try JSONValue.parse(try FHIRJSONWriter().write(viaXML)) == JSONValue.parse(Self.json))
    }

    @Test func ourTwinsDescribeTheSameTree() throws {
        #expect(try FHIRJSONReader().read(Self.json).resource == FHIRXMLReader().read(Self.xml).resource)
        #expect(try FHIRXMLWriter(pretty: true).write(FHIRJSONReader().read(Self.json).resource) == Self.xml)
    }

    @Test(arguments: ["1.50", "-0.0", "6.02E23", "0.000000000000000001", "123456789012345678", "1e-7", "100"])
    func decimalsKeepTheirText(_ literal: String) throws {
        let input = #"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":\#(literal)}}"#
        let tree = try readJSON(input).resource
        #expect(tree.descendant("quantity", "value")?.value == literal)
        let xml = text(try FHIRXMLWriter().write(tree))
        #expect(xml.contains("<value value=\"\(literal)\"/>"))
        #expect(text(try FHIRJSONWriter().write(try readXML(xml).resource)) == input)
    }

    @Test func primitiveExtensionsAndSparseArrays() throws {
        let tree = try FHIRJSONReader().read(Self.json).resource
        let given = try #require(tree.child("contained")?.wrappedResource?.child("name")).children(named: "given")
        #expect(given.map(\.value) == ["Anna", nil, "Maria"])
        #expect(given[1].children.first?.name == "extension")
        #expect(given[2].children == [Element(name: "id", value: "g3")])
        let status = try #require(tree.child("status"))
        #expect(status.value == "completed")
        #expect(status.children.map(\.name) == ["id", "extension"])
        let written = text(try FHIRJSONWriter().write(tree))
        #expect(written.contains(#""given":["Anna",null,"Maria"],"_given":[null,{"extension":"#))
        #expect(written.contains(#""status":"completed","_status":{"id":"s1","#))
    }

    @Test func outputFollowsDefinitionOrderWhateverTheInputOrder() throws {
        let shuffled = #"{"whenHandedOver":"2025-01-15","status":"completed","resourceType":"MedicationDispense","id":"a"}"#
        let written = text(try FHIRJSONWriter().write(try readJSON(shuffled).resource))
        #expect(written == #"{"resourceType":"MedicationDispense","id":"a","status":"completed","whenHandedOver":"2025-01-15"}"#)
    }

    @Test func narrativeIsKeptVerbatim() throws {
        let div = #"<div xmlns="http://www.w3.org/1999/xhtml"><p class="x">A &amp; B<br/>&#160;<!-- note --></p></div>"#
        let xml = "<Basic \(fhirXML)><text><status value=\"generated\"/>\(div)</text><code><text value=\"c\"/></code></Basic>"
        let tree = try readXML(xml).resource
        #expect(tree.descendant("text", "div")?.value == div)
        let json = try FHIRJSONWriter().write(tree)
        #expect(try readJSON(text(json)).resource == tree)
        #expect(text(try FHIRXMLWriter().write(tree)).contains(div))
    }

    @Test func malformedNarrativeInJSONIsRejected() throws {
        let issue = try #require(jsonError(#"{"resourceType":"Basic","text":{"status":"generated","div":"<div>unclosed"}}"#))
        #expect(issue.code == .value)
        #expect(issue.expression == ["Basic.text.div"])
        #expect(jsonError(#"{"resourceType":"Basic","text":{"status":"generated","div":"<p xmlns=\"http://www.w3.org/1999/xhtml\">x</p>"}}"#) != nil)
    }

    @Test func unknownExtensionsAreKept() throws {
        let tree = try FHIRJSONReader().read(Self.json).resource
        let unknown = tree.extensions("http://example.org/fhir/StructureDefinition/unknown-to-everyone")
        #expect(unknown.first?.value(of: "valueString") == "kept \"as is\"\nwith a tab\tand <markup> & more")
    }

    @Test func treesBuiltInCodeAreWrittenInDefinitionOrder() throws {
        let tree = Element(name: "Patient", children: [
            Element(name: "gender", value: "female"),
            Element(name: "name", children: [Element(name: "family", value: "B")]),
            Element(name: "id", value: "p"),
            Element(name: "name", children: [Element(name: "family", value: "C")]),
        ])
        #expect(text(try FHIRJSONWriter().write(tree))
            == #"{"resourceType":"Patient","id":"p","name":[{"family":"B"},{"family":"C"}],"gender":"female"}"#)
    }

    @Test func writersRefuseTreesThatAreNotFHIR() throws {
        #expect(throws: FHIRFormatError.self) { try FHIRJSONWriter().write(Element(name: "Patient", children: [Element(name: "colour", value: "x")])) }
        #expect(throws: FHIRFormatError.self) { try FHIRJSONWriter().write(Element(name: "Patient", children: [Element(name: "active", value: "yes")])) }
        #expect(throws: FHIRFormatError.self) { try FHIRXMLWriter().write(Element(name: "Prescription")) }
    }
}
