import CLibXML2

/// An independent XML element tree from libxml2's DOM, for comparing documents: namespace + name,
/// attributes (unordered), child elements in order; whitespace-only text and comments are ignored.
struct XMLTree: Equatable, CustomStringConvertible {
    var namespace: String
    var name: String
    var attributes: [String: String]
    var text: String
    var children: [XMLTree]

    static func parse(_ bytes: [UInt8], ignoringNarrative: Bool = false) -> XMLTree? {
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOBLANKS.rawValue)
        guard let document = bytes.withUnsafeBufferPointer({ buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), nil, nil, options)
            }
        }) else { return nil }
        defer { xmlFreeDoc(document) }
        guard let root = xmlDocGetRootElement(document) else { return nil }
        return XMLTree(root, ignoringNarrative: ignoringNarrative)
    }

    private init(_ node: xmlNodePtr, ignoringNarrative: Bool) {
        name = String(cString: node.pointee.name)
        namespace = node.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } } ?? ""
        attributes = [:]
        var attribute = node.pointee.properties
        while let current = attribute {
            // Attribute values are the text children of the attribute node (entities already resolved).
            var value = ""
            var text = current.pointee.children
            while let part = text {
                value += part.pointee.content.map { String(cString: $0) } ?? ""
                text = part.pointee.next
            }
            attributes[String(cString: current.pointee.name)] = value
            attribute = current.pointee.next
        }
        text = ""
        children = []
        if ignoringNarrative && name == "div" && namespace == "http://www.w3.org/1999/xhtml" {
            attributes = [:]
            return
        }
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE: children.append(XMLTree(current, ignoringNarrative: ignoringNarrative))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                let content = current.pointee.content.map { String(cString: $0) } ?? ""
                if content.contains(where: { !$0.isWhitespace }) || namespace == "http://www.w3.org/1999/xhtml" {
                    text += content
                }
            default: break
            }
            child = current.pointee.next
        }
    }

    var description: String {
        "<\(name) \(attributes.sorted { $0.key < $1.key })>\(text)\(children.map(\.description).joined())</\(name)>"
    }
}
