/// An independent, lossless JSON value for comparing documents: numbers as their text, objects
/// compared without regard to key order. Deliberately separate from the codec under test.
indirect enum JSONValue: Equatable, CustomStringConvertible {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    struct ParseError: Error {}

    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var index = 0
        let value = try parseValue(bytes, &index)
        skip(bytes, &index)
        guard index == bytes.count else { throw ParseError() }
        return value
    }

    private static func skip(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains(bytes[index]) { index += 1 }
    }

    private static func parseValue(_ bytes: [UInt8], _ index: inout Int) throws -> JSONValue {
        skip(bytes, &index)
        guard index < bytes.count else { throw ParseError() }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [String: JSONValue] = [:]
            skip(bytes, &index)
            if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skip(bytes, &index)
                guard case .string(let key) = try parseValue(bytes, &index) else { throw ParseError() }
                skip(bytes, &index)
                guard bytes[index] == UInt8(ascii: ":") else { throw ParseError() }
                index += 1
                members[key] = try parseValue(bytes, &index)
                skip(bytes, &index)
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "}") else { throw ParseError() }
                index += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            index += 1
            var items: [JSONValue] = []
            skip(bytes, &index)
            if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                items.append(try parseValue(bytes, &index))
                skip(bytes, &index)
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                guard bytes[index] == UInt8(ascii: "]") else { throw ParseError() }
                index += 1
                return .array(items)
            }
        case UInt8(ascii: "\""):
            index += 1
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            while bytes[index] != UInt8(ascii: "\"") {
                if bytes[index] == UInt8(ascii: "\\") {
                    scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                    run = []
                    let escape = bytes[index + 1]
                    index += 2
                    switch escape {
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "u"):
                        var code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)!
                        index += 4
                        if (0xD800..<0xDC00).contains(code) {
                            let low = UInt32(String(decoding: bytes[index + 2..<index + 6], as: UTF8.self), radix: 16)!
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            index += 6
                        }
                        scalars.append(Unicode.Scalar(code)!)
                    default: scalars.append(Unicode.Scalar(escape))
                    }
                } else {
                    run.append(bytes[index])
                    index += 1
                }
            }
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            index += 1
            return .string(String(scalars))
        case UInt8(ascii: "t"): index += 4; return .bool(true)
        case UInt8(ascii: "f"): index += 5; return .bool(false)
        case UInt8(ascii: "n"): index += 4; return .null
        default:
            let start = index
            while index < bytes.count, "-+.eE0123456789".utf8.contains(bytes[index]) { index += 1 }
            guard index > start else { throw ParseError() }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }
    }

    /// The same value with every `text.div` string replaced, for comparisons that leave narrative aside.
    func withoutNarrative() -> JSONValue {
        switch self {
        case .object(var members):
            for (key, value) in members { members[key] = value.withoutNarrative() }
            if case .string = members["div"] { members["div"] = .string("<narrative>") }
            return .object(members)
        case .array(let items): return .array(items.map { $0.withoutNarrative() })
        default: return self
        }
    }

    var description: String {
        switch self {
        case .object(let members): "{" + members.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        case .array(let items): "[" + items.map(\.description).joined(separator: ",") + "]"
        case .string(let text): "\"\(text)\""
        case .number(let text): text
        case .bool(let flag): "\(flag)"
        case .null: "null"
        }
    }
}
