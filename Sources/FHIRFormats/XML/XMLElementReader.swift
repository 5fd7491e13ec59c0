import CLibXML2
import FHIRModel

/// One element of a small, non-FHIR XML document (the eGK's proof of presence, issue 24): its
/// namespace, local name, unprefixed attributes, direct text and child elements. Comments and
/// processing instructions are dropped.
public struct XMLElementNode: Sendable, Hashable {
    public var namespace: String?
    public var name: String
    /// Attributes without a namespace, by local name.
    public var attributes: [String: String]
    /// The character data directly inside this element (CDATA included), as written.
    public var text: String
    public var children: [XMLElementNode]

    public init(namespace: String?, name: String, attributes: [String: String] = [:], text: String = "", children: [XMLElementNode] = []) {
        self.namespace = namespace
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
    }
}

/// Reads a small XML document into ``XMLElementNode``s with the same safety as the FHIR XML
/// reader (``SecureSAXSession``: no DTD, no entities, no network, UTF-8 only), and with limits
/// fit for documents of a few elements, so an input cannot make it build a large tree.
public enum XMLElementReader {
    public struct Failure: Error, Sendable, Hashable {
        /// What was wrong; never a quote of the input beyond element names.
        public var message: String
    }

    public static func read(_ bytes: [UInt8], maxDepth: Int = 8, maxElements: Int = 256) throws(Failure) -> XMLElementNode {
        let session = TreeSession(limits: DecodingOptions.Limits(maxInputBytes: bytes.count, maxDepth: maxDepth, maxStringBytes: 1 << 16),
                                  maxElements: maxElements)
        bytes.withUnsafeBufferPointer { session.parse($0) }
        if let failure = session.failure { throw Failure(message: failure.message) }
        guard let root = session.root else { throw Failure(message: "The document has no root element") }
        return root
    }

    private final class TreeSession: SecureSAXSession {
        let maxElements: Int
        var stack: [XMLElementNode] = []
        var root: XMLElementNode?
        var elements = 0

        init(limits: DecodingOptions.Limits, maxElements: Int) {
            self.maxElements = maxElements
            super.init(limits: limits)
        }

        static func of(_ context: UnsafeMutableRawPointer?) -> TreeSession {
            Unmanaged<TreeSession>.fromOpaque(context!).takeUnretainedValue()
        }

        static func string(_ pointer: UnsafePointer<xmlChar>?) -> String? {
            pointer.map { String(decoding: xmlBytes($0), as: UTF8.self) }
        }

        override func install(into handler: inout xmlSAXHandler) {
            handler.startElementNs = { context, localName, _, uri, _, _, count, _, attributes in
                let session = TreeSession.of(context)
                guard session.failure == nil else { return }
                session.elements += 1
                guard session.elements <= session.maxElements, session.stack.count < session.limits.maxDepth else {
                    session.stop(.tooCostly, "The document has too many or too deeply nested elements")
                    return
                }
                var node = XMLElementNode(namespace: TreeSession.string(uri), name: TreeSession.string(localName) ?? "")
                if let attributes {
                    for index in 0..<Int(count) {
                        // libxml2 hands five pointers per attribute: local name, prefix, URI, value start, value end.
                        let base = index * 5
                        guard attributes[base + 2] == nil, let name = TreeSession.string(attributes[base]),
                              let start = attributes[base + 3], let end = attributes[base + 4] else { continue }
                        node.attributes[name] = String(decoding: UnsafeBufferPointer(start: start, count: end - start), as: UTF8.self)
                    }
                }
                session.stack.append(node)
            }
            handler.endElementNs = { context, _, _, _ in
                let session = TreeSession.of(context)
                guard session.failure == nil, let node = session.stack.popLast() else { return }
                if session.stack.isEmpty {
                    session.root = node
                } else {
                    session.stack[session.stack.count - 1].children.append(node)
                }
            }
            let characters: charactersSAXFunc = { context, bytes, length in
                let session = TreeSession.of(context)
                guard session.failure == nil, let bytes, !session.stack.isEmpty else { return }
                let last = session.stack.count - 1
                guard session.stack[last].text.utf8.count + Int(length) <= session.limits.maxStringBytes else {
                    session.stop(.tooLong, "A text in the document is too long")
                    return
                }
                session.stack[last].text += String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self)
            }
            handler.characters = characters
            handler.cdataBlock = characters
        }
    }
}
