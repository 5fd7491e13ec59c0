import FHIRModel

/// The JSON tokens FHIR needs, read straight from UTF-8 bytes.
///
/// Strings are returned as byte ranges first, so keys can be looked up without making a `String`;
/// numbers are returned as their exact text.
struct JSONScanner {
    let base: UnsafePointer<UInt8>
    let count: Int
    var position = 0
    let maxStringBytes: Int

    init(_ buffer: UnsafeBufferPointer<UInt8>, maxStringBytes: Int) {
        // An empty buffer may have no base address; point at a static byte so reads stay in bounds logic.
        self.base = buffer.baseAddress ?? JSONScanner.emptyBase
        self.count = buffer.count
        self.maxStringBytes = maxStringBytes
    }

    nonisolated(unsafe) private static let emptyBase: UnsafePointer<UInt8> = {
        let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        pointer.initialize(to: 0)
        return UnsafePointer(pointer)
    }()

    /// A string token: the bytes between the quotes, and what decoding them needs.
    struct RawString {
        var start: Int
        var end: Int
        var hasEscapes: Bool
        var hasNonASCII: Bool
    }

    var atEnd: Bool { position >= count }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < count {
            let byte = base[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    /// The next non-whitespace byte, not consumed.
    @inline(__always)
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < count ? base[position] : nil
    }

    mutating func expect(_ byte: UInt8, _ what: @autoclosure () -> String) throws {
        guard peek() == byte else { throw unexpected(what()) }
        position += 1
    }

    func unexpected(_ expectation: String) -> ReadFailure {
        guard position < count else {
            return ReadFailure(code: .structure, message: "Unexpected end of input: expected \(expectation)", offset: position)
        }
        let found = base[position]
        let shown = found >= 0x20 && found < 0x7F ? "'\(Character(Unicode.Scalar(found)))'" : "byte 0x\(String(found, radix: 16))"
        return ReadFailure(code: .structure, message: "Expected \(expectation), found \(shown)", offset: position)
    }

    /// Reads a string token; the position must be at its opening quote.
    mutating func readRawString() throws -> RawString {
        let open = position
        position += 1
        let start = position
        var hasEscapes = false
        var highBits: UInt8 = 0
        while true {
            guard position < count else {
                throw ReadFailure(code: .structure, message: "Unterminated string", offset: open)
            }
            let byte = base[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                position += 2
                continue
            }
            if byte < 0x20 {
                throw ReadFailure(code: .structure, message: "Control character in string (must be escaped)", offset: position)
            }
            highBits |= byte
            position += 1
        }
        let end = position
        position += 1
        guard end - start <= maxStringBytes else {
            throw ReadFailure(code: .tooLong, message: "String of \(end - start) bytes exceeds the limit of \(maxStringBytes)",
                              offset: start)
        }
        return RawString(start: start, end: end, hasEscapes: hasEscapes, hasNonASCII: highBits >= 0x80)
    }

    func bytes(_ raw: RawString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + raw.start, count: raw.end - raw.start)
    }

    /// Decodes a string token: unescapes it and checks that it is valid UTF-8.
    func decode(_ raw: RawString) throws -> String {
        if !raw.hasEscapes {
            let bytes = bytes(raw)
            if !raw.hasNonASCII { return String(decoding: bytes, as: UTF8.self) }
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw ReadFailure(code: .structure, message: "Invalid UTF-8 in string", offset: raw.start)
            }
            return string
        }
        var scalars = String.UnicodeScalarView()
        var index = raw.start
        var plainStart = index
        func flushPlain(upTo end: Int) throws {
            guard end > plainStart else { return }
            let run = UnsafeBufferPointer(start: base + plainStart, count: end - plainStart)
            guard let text = String(validating: run, as: UTF8.self) else {
                throw ReadFailure(code: .structure, message: "Invalid UTF-8 in string", offset: plainStart)
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while index < raw.end {
            guard base[index] == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            try flushPlain(upTo: index)
            let escape = base[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var value = try hex4(at: index, end: raw.end)
                index += 4
                if (0xD800..<0xDC00).contains(value) {
                    guard index + 6 <= raw.end, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u") else {
                        throw ReadFailure(code: .structure, message: "Unpaired UTF-16 surrogate in \\u escape", offset: index)
                    }
                    let low = try hex4(at: index + 2, end: raw.end)
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw ReadFailure(code: .structure, message: "Unpaired UTF-16 surrogate in \\u escape", offset: index)
                    }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                guard let scalar = Unicode.Scalar(value) else {
                    throw ReadFailure(code: .structure, message: "Unpaired UTF-16 surrogate in \\u escape", offset: index)
                }
                scalars.append(scalar)
            default:
                throw ReadFailure(code: .structure, message: "Invalid escape sequence in string", offset: index - 2)
            }
            plainStart = index
        }
        try flushPlain(upTo: raw.end)
        return String(scalars)
    }

    private func hex4(at index: Int, end: Int) throws -> UInt32 {
        guard index + 4 <= end else {
            throw ReadFailure(code: .structure, message: "Truncated \\u escape", offset: index)
        }
        var value: UInt32 = 0
        for offset in 0..<4 {
            let byte = base[index + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw ReadFailure(code: .structure, message: "Invalid hex digit in \\u escape", offset: index + offset)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Reads a number token and returns its exact text range; it must follow the JSON grammar.
    mutating func readNumber() throws -> Range<Int> {
        let start = position
        while position < count {
            let byte = base[position]
            let isNumberByte = (byte &- UInt8(ascii: "0")) < 10 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
            guard isNumberByte else { break }
            position += 1
        }
        guard PrimitiveType.decimal.isValid(UnsafeBufferPointer(start: base + start, count: position - start)) else {
            throw ReadFailure(code: .structure, message: "Malformed number", offset: start)
        }
        return start..<position
    }

    /// Reads `true`, `false` or `null`; returns which.
    mutating func readLiteral() throws -> Literal {
        for (literal, word) in [(Literal.true, "true"), (.false, "false"), (.null, "null")] {
            let length = word.utf8.count
            if position + length <= count,
                word.utf8.elementsEqual(UnsafeBufferPointer(start: base + position, count: length))
            {
                position += length
                return literal
            }
        }
        throw unexpected("a value")
    }

    enum Literal { case `true`, `false`, null }

    /// Skips one value of any kind (an unknown element in lenient mode), within the depth limit.
    mutating func skipValue(depth: Int, maxDepth: Int) throws {
        guard depth <= maxDepth else {
            throw ReadFailure(code: .tooCostly, message: "Nesting deeper than \(maxDepth) levels", offset: position)
        }
        switch peek() {
        case UInt8(ascii: "\""): _ = try readRawString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = base[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            position += 1
            if peek() == close {
                position += 1
                return
            }
            while true {
                if isObject {
                    guard peek() == UInt8(ascii: "\"") else { throw unexpected("a property name") }
                    _ = try readRawString()
                    try expect(UInt8(ascii: ":"), "':'")
                }
                try skipValue(depth: depth + 1, maxDepth: maxDepth)
                if peek() == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect(close, isObject ? "',' or '}'" : "',' or ']'")
                return
            }
        case let byte? where byte == UInt8(ascii: "-") || (byte &- UInt8(ascii: "0")) < 10: _ = try readNumber()
        default: _ = try readLiteral()
        }
    }

    /// 1-based line and column (in bytes) of an offset, computed only when reporting an error.
    func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        for index in 0..<min(offset, count) where base[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        return (line, offset - lineStart + 1)
    }
}
