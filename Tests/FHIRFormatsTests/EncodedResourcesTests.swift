@testable import FHIRFormats
import FHIRModel
import Foundation
import Testing

/// Writing with resources encoded ahead must write exactly what writing without them does, and
/// copy only resources equal to an encoded one.
struct EncodedResourcesTests {
    static let bodies = ["dispense-1.6.json", "dispense-1.4.json", "close-1.6.json", "close-1.6-diga.json", "prescription-bundle.json"]

    static func tree(_ name: String) throws -> Element {
        try FHIRJSONReader().read(Locations.bytes(Locations.ownFixtures.appendingPathComponent("scenarios/bodies/\(name)"))).resource
    }

    /// Every resource nested anywhere in `element` (the `resource` and `contained` wrappers' content).
    static func nestedResources(_ element: Element) -> [Element] {
        element.children.flatMap { child -> [Element] in
            if child.name == "resource" || child.name == "contained", let inner = child.wrappedResource {
                return [inner] + nestedResources(inner)
            }
            return nestedResources(child)
        }
    }

    @Test(arguments: bodies)
    func reusingWritesTheSameBytes(_ name: String) throws {
        let tree = try Self.tree(name)
        let nested = Self.nestedResources(tree)
        #expect(!nested.isEmpty)
        let plain = try FHIRJSONWriter().write(tree)
        #expect(try FHIRJSONWriter().write(tree, reusing: EncodedResources(nested)) == plain)
        #expect(try FHIRJSONWriter().write(tree, reusing: EncodedResources([tree])) == plain)
        // A pretty writer never copies compact bytes.
        #expect(try FHIRJSONWriter(pretty: true).write(tree, reusing: EncodedResources(nested + [tree])) == FHIRJSONWriter(pretty: true).write(tree))
    }

    @Test func copiesAnEqualResourceBuiltApartAndNothingElse() throws {
        let tree = try Self.tree("dispense-1.6.json")
        let dispense = try #require(Self.nestedResources(tree).first { $0.name == "MedicationDispense" })
        let marker = Array(#"{"resourceType":"MedicationDispense","copied":true}"#.utf8)
        let encoded = EncodedResources(unchecked: [(dispense, marker)])
        // Equal, though every array is a separate copy: copied.
        let rebuilt = try FHIRJSONReader().read(FHIRJSONWriter().write(dispense)).resource
        #expect(encoded.json(for: rebuilt) == marker)
        let written = String(decoding: try FHIRJSONWriter().write(tree, reusing: encoded), as: UTF8.self)
        #expect(written.contains(#"{"resourceType":"MedicationDispense","copied":true}"#))
        // Changed after it was encoded: written anew.
        var changed = tree
        changed.children[changed.children.count - 1] = Self.replacingStatus(in: changed.children.last!, with: "cancelled")
        let changedWrite = String(decoding: try FHIRJSONWriter().write(changed, reusing: encoded), as: UTF8.self)
        #expect(!changedWrite.contains("copied"))
        #expect(changedWrite == String(decoding: try FHIRJSONWriter().write(changed), as: UTF8.self))
    }

    @Test func aResourceThatCannotBeWrittenIsLeftOutAndFailsWhereItIsWritten() throws {
        let unknown = Element(name: "NoSuchResource", children: [Element(name: "id", value: "x")])
        #expect(EncodedResources([unknown]).isEmpty)
        #expect(throws: FHIRFormatError.self) { try FHIRJSONWriter().write(unknown, reusing: EncodedResources([unknown])) }
    }

    /// `element` with the `status` of every MedicationDispense under it set to `status`.
    static func replacingStatus(in element: Element, with status: String) -> Element {
        var copy = element
        if copy.name == "MedicationDispense", let index = copy.children.firstIndex(where: { $0.name == "status" }) {
            copy.children[index].value = status
        }
        copy.children = copy.children.map { replacingStatus(in: $0, with: status) }
        return copy
    }
}
