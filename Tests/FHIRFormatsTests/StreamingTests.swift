import FHIRFormats
import FHIRModel
import Foundation
import Testing

/// The writers' sink form (what `erx convert` streams with) and the readers' limits for local files.
struct StreamingTests {
    /// A Bundle of 200 fidelity MedicationDispenses: about 400 KB, so several pieces of 16 KiB.
    static let bundle: Element = {
        let dispense = try! FHIRJSONReader()
            .read(try! Locations.bytes(Locations.ownFixtures.appendingPathComponent("codec/medicationdispense-fidelity.json"))).resource
        let entries = (0..<200).map { index in
            var resource = dispense
            resource.children[0].value = "md-\(index)"
            return Element(name: "entry", children: [Element(name: "resource", children: [resource])])
        }
        return Element(name: "Bundle", children: [Element(name: "type", value: "collection")] + entries)
    }()

    @Test(arguments: [FHIRFormat.json, .xml], [false, true])
    func piecesMakeTheSameDocument(format: FHIRFormat, pretty: Bool) throws {
        let whole = try format.write(Self.bundle, pretty: pretty)
        var pieces: [[UInt8]] = []
        let write: (Element, Int, FHIRByteSink) throws(FHIRFormatError) -> Void = format == .json
            ? { (resource, chunk, sink) throws(FHIRFormatError) in try FHIRJSONWriter(pretty: pretty).write(resource, chunkBytes: chunk, to: sink) }
            : { (resource, chunk, sink) throws(FHIRFormatError) in try FHIRXMLWriter(pretty: pretty).write(resource, chunkBytes: chunk, to: sink) }
        try write(Self.bundle, 16 << 10) { (bytes) throws(FHIRFormatError) in pieces.append(Array(bytes)) }
        #expect(Array(pieces.joined()) == whole)
        #expect(pieces.count > 10)
        // Flushed where an element ends, so no piece is much larger than asked for.
        #expect(pieces.dropLast().allSatisfy { $0.count >= 16 << 10 && $0.count < 24 << 10 })
    }

    @Test func aFailingSinkStopsTheWriter() throws {
        var calls = 0
        let refusal = FHIRFormatError(OperationOutcome.Issue(code: .exception, text: "disk full"))
        #expect(throws: FHIRFormatError.self) {
            try FHIRFormat.xml.write(Self.bundle) { (_) throws(FHIRFormatError) in
                calls += 1
                throw refusal
            }
        }
        #expect(calls == 1)
    }

    /// An attribute beyond libxml2's own 10 MB value limit reads with file limits; the default limits
    /// (the server's) still refuse it: libxml2 before our string limit in XML, our limit in JSON.
    @Test func fileLimitsReadValuesBeyondLibxml2sDefault() throws {
        let data = String(repeating: "QUJD", count: 2_750_000)
        let xml = "<Binary \(fhirXML)><contentType value=\"text/plain\"/><data value=\"\(data)\"/></Binary>"
        let binary = try readXML(xml, DecodingOptions(limits: .file(maxBytes: 1 << 30))).resource
        #expect(binary.value(of: "data")?.utf8.count == 11_000_000)
        #expect(xmlError(xml)?.text.contains("AttValue length too long") == true)
        let json = try FHIRJSONWriter().write(binary)
        #expect(jsonError(text(json))?.code == .tooLong)
        #expect(try readJSON(text(json), DecodingOptions(limits: .file(maxBytes: 1 << 30))).resource == binary)
    }
}
