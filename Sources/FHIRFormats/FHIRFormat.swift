public import FHIRModel

/// The two FHIR wire formats, and the one place that picks a reader or writer for them.
public enum FHIRFormat: String, Sendable, CaseIterable {
    case json, xml

    /// Guesses the format from the first non-whitespace byte (`{` or `<`), after an optional UTF-8 BOM.
    public static func sniff(_ bytes: some Collection<UInt8>) -> FHIRFormat? {
        var iterator = bytes.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0xEF || $0 == 0xBB || $0 == 0xBF }
            .makeIterator()
        switch iterator.next() {
        case UInt8(ascii: "{"): return .json
        case UInt8(ascii: "<"): return .xml
        default: return nil
        }
    }

    public func read(_ bytes: [UInt8], options: DecodingOptions = .strict) throws(FHIRFormatError) -> DecodedResource {
        switch self {
        case .json: try FHIRJSONReader(options: options).read(bytes)
        case .xml: try FHIRXMLReader(options: options).read(bytes)
        }
    }

    public func write(_ resource: Element, pretty: Bool = false,
                      definitions: TypeDefinitions = R4CoreDefinitions.shared) throws(FHIRFormatError) -> [UInt8] {
        switch self {
        case .json: try FHIRJSONWriter(pretty: pretty, definitions: definitions).write(resource)
        case .xml: try FHIRXMLWriter(pretty: pretty, definitions: definitions).write(resource)
        }
    }

    /// Writes the document to `sink` piece by piece; see ``FHIRJSONWriter/write(_:chunkBytes:to:)``.
    public func write(_ resource: Element, pretty: Bool = false, definitions: TypeDefinitions = R4CoreDefinitions.shared,
                      to sink: FHIRByteSink) throws(FHIRFormatError) {
        switch self {
        case .json: try FHIRJSONWriter(pretty: pretty, definitions: definitions).write(resource, to: sink)
        case .xml: try FHIRXMLWriter(pretty: pretty, definitions: definitions).write(resource, to: sink)
        }
    }
}

/// Receives a streaming writer's output piece by piece; the bytes are only valid during the call.
/// Throwing (the disk is full, the reader went away) stops the writer with that error.
public typealias FHIRByteSink = (UnsafeBufferPointer<UInt8>) throws(FHIRFormatError) -> Void
