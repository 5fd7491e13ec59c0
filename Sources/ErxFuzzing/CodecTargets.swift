import FHIRFormats
import FHIRModel

/// The JSON and XML readers and both writers. Whatever the reader accepts must be writable in its own
/// format and read back to the same tree; written in the other format it must read back to the same
/// tree too, unless the writer refuses it with an error (XML cannot carry every character JSON can).
enum CodecTargets {
    static func roundTrip(_ bytes: [UInt8], format: FHIRFormat) {
        // Strict first, as the server reads request bodies; lenient repairs what strict refuses, so
        // when strict fails the lenient reader gets its turn at the same bytes.
        let options: DecodingOptions
        let tree: Element
        if let decoded = try? format.read(bytes, options: .strict) {
            options = .strict
            tree = decoded.resource
        } else if let decoded = try? format.read(bytes, options: .lenient) {
            options = .lenient
            tree = decoded.resource
        } else {
            return
        }
        // Pretty or not: the input's length decides, so every input has one fixed path.
        let pretty = bytes.count % 2 == 1
        let own: [UInt8]
        do {
            own = try format.write(tree, pretty: pretty)
        } catch {
            violated("\(format) writer refused a tree its own reader produced: \(error)")
        }
        expectSame(tree, reading: own, as: format, options: options)
        let other: FHIRFormat = format == .json ? .xml : .json
        guard let converted = try? other.write(tree, pretty: pretty) else { return }
        expectSame(tree, reading: converted, as: other, options: options)
    }

    private static func expectSame(_ tree: Element, reading bytes: [UInt8], as format: FHIRFormat, options: DecodingOptions) {
        let again: Element
        do {
            again = try format.read(bytes, options: options).resource
        } catch {
            violated("\(format) output does not read back: \(error)\n\(String(decoding: bytes, as: UTF8.self))")
        }
        guard again == tree else {
            violated("\(format) output reads back to another tree:\n\(String(decoding: bytes, as: UTF8.self))\nfirst difference: \(difference(tree, again))")
        }
    }

    /// The path to the first node that differs, for the crash message.
    static func difference(_ left: Element, _ right: Element, path: String = "") -> String {
        let here = path.isEmpty ? left.name : path + "." + left.name
        if left.name != right.name { return "\(here): name \(left.name) vs \(right.name)" }
        if left.value != right.value { return "\(here): value \(String(reflecting: left.value)) vs \(String(reflecting: right.value))" }
        for (a, b) in zip(left.children, right.children) where a != b {
            return difference(a, b, path: here)
        }
        return "\(here): \(left.children.count) vs \(right.children.count) children"
    }
}
