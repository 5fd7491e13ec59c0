import CLibXML2
import Foundation

/// The baselines measured in the same run as our codec.
enum Baselines {
    /// Start tags seen by the bare SAX2 baseline: proof that it parsed the whole document.
    nonisolated(unsafe) static var elementCount = 0

    /// Foundation's `JSONSerialization` parse of the same bytes (loses decimal text and key order).
    static func jsonSerialization(_ data: Data) throws {
        _ = try JSONSerialization.jsonObject(with: data)
    }

    /// A bare libxml2 SAX2 parse of the same bytes: namespace-aware callbacks that do nothing.
    static func libxml2SAX2(_ bytes: [UInt8]) {
        var handler = xmlSAXHandler()
        handler.initialized = UInt32(XML_SAX2_MAGIC)
        handler.startElementNs = { _, _, _, _, _, _, _, _, _ in Baselines.elementCount += 1 }
        handler.endElementNs = { _, _, _, _ in }
        handler.characters = { _, _, _ in }
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                _ = xmlSAXUserParseMemory(&handler, nil, $0, Int32(buffer.count))
            }
        }
    }

    /// libxml2 building its own tree (`xmlReadMemory`): the like-for-like comparison for a parse into a tree.
    static func libxml2DOM(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlFreeDoc(xmlReadMemory($0, Int32(buffer.count), nil, nil, Int32(XML_PARSE_NONET.rawValue)))
            }
        }
    }
}
