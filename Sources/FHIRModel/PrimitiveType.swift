/// The twenty FHIR R4 primitive types, with their lexical rules.
///
/// The rules are the R4 regular expressions (kept in the generated table and cross-checked by a test),
/// written out by hand because they run for every primitive value the codecs read: a compiled regex
/// per value would cost more than the parse itself.
public enum PrimitiveType: String, Sendable, CaseIterable {
    case base64Binary, boolean, canonical, code, date, dateTime, decimal, id, instant, integer
    case markdown, oid, positiveInt, string, time, unsignedInt, uri, url, uuid, xhtml

    /// How the value is written in FHIR JSON.
    public enum JSONKind: String, Sendable {
        case boolean, number, string
    }

    public var jsonKind: JSONKind {
        switch self {
        case .boolean: .boolean
        case .integer, .decimal, .positiveInt, .unsignedInt: .number
        default: .string
        }
    }

    /// Whether `text` is a lexically valid value of this type.
    ///
    /// Beyond the regex, every string type refuses control characters other than tab, CR and LF,
    /// because XML 1.0 cannot carry them and the two formats must hold the same content.
    public func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid($0) }
    }

    /// Whether the UTF-8 bytes are a lexically valid value of this type.
    public func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return false }
        var lexer = Lexer(bytes)
        switch self {
        case .boolean:
            return lexer.equals("true") || lexer.equals("false")
        case .integer:
            return lexer.integer(allowSign: true, allowZero: true)
        case .positiveInt:
            return lexer.integer(allowSign: false, allowZero: false)
        case .unsignedInt:
            return lexer.integer(allowSign: false, allowZero: true)
        case .decimal:
            return lexer.decimal()
        case .string, .markdown:
            return Lexer.hasOnlyTextCharacters(bytes)
        case .code:
            return Lexer.hasOnlyTextCharacters(bytes) && Lexer.isCode(bytes)
        case .id:
            return bytes.count <= 64 && bytes.allSatisfy { Lexer.isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
        case .uri, .url, .canonical:
            return bytes.allSatisfy { $0 > 0x20 && $0 != 0x7F } && !Lexer.hasNonCharacters(bytes)
        case .oid:
            return lexer.oid()
        case .uuid:
            return lexer.uuid()
        case .base64Binary:
            return Lexer.isBase64(bytes)
        case .date:
            return lexer.date(requireFullDate: false) && lexer.atEnd
        case .dateTime:
            return lexer.dateTime()
        case .instant:
            return lexer.instant()
        case .time:
            return lexer.time() && lexer.atEnd
        case .xhtml:
            return Lexer.hasOnlyTextCharacters(bytes)
        }
    }
}

/// A cursor over UTF-8 bytes with the small recognisers the R4 lexical rules are made of.
private struct Lexer {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }
    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20) &- UInt8(ascii: "a") < 26
    }
    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    static func hasOnlyTextCharacters(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 >= 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D } && !hasNonCharacters(bytes)
    }

    /// U+FFFE and U+FFFF (UTF-8 `EF BF BE`, `EF BF BF`): valid UTF-8 that XML 1.0 does not allow.
    static func hasNonCharacters(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 3 else { return false }
        for index in 0..<(bytes.count - 2) where bytes[index] == 0xEF && bytes[index + 1] == 0xBF && bytes[index + 2] >= 0xBE {
            return true
        }
        return false
    }

    /// `[^\s]+(\s[^\s]+)*`: no leading, trailing or doubled whitespace.
    static func isCode(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var previousWasSpace = true
        for byte in bytes {
            let space = isWhitespace(byte)
            if space && previousWasSpace { return false }
            previousWasSpace = space
        }
        return !previousWasSpace
    }

    /// Standard base64 with padding only at the end; whitespace between groups is allowed, as in the R4 regex.
    static func isBase64(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var count = 0
        var padding = 0
        for byte in bytes {
            if isWhitespace(byte) { continue }
            if byte == UInt8(ascii: "=") {
                padding += 1
                if padding > 2 { return false }
            } else {
                guard padding == 0, isAlphanumeric(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") else {
                    return false
                }
            }
            count += 1
        }
        return count > 0 && count % 4 == 0
    }

    mutating func equals(_ literal: StaticString) -> Bool {
        guard literal.utf8CodeUnitCount == bytes.count else { return false }
        return literal.withUTF8Buffer { $0.elementsEqual(bytes) }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// Consumes digits; returns how many.
    mutating func digits() -> Int {
        let start = position
        while let byte = current, Lexer.isDigit(byte) { position += 1 }
        return position - start
    }

    /// Exactly `count` digits, returned as their value.
    mutating func fixedDigits(_ count: Int) -> Int? {
        guard position + count <= bytes.count else { return nil }
        var value = 0
        for _ in 0..<count {
            let byte = bytes[position]
            guard Lexer.isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            position += 1
        }
        return value
    }

    /// An integer without leading zeros that fits in 32 bits, as FHIR's integer types require.
    mutating func integer(allowSign: Bool, allowZero: Bool) -> Bool {
        let negative = allowSign && take(UInt8(ascii: "-"))
        let start = position
        let count = digits()
        guard count > 0, atEnd, count <= 10 else { return false }
        if bytes[start] == UInt8(ascii: "0") { return count == 1 && allowZero && !negative }
        var value: Int64 = 0
        for index in start..<position { value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
        return negative ? value <= 2_147_483_648 : value <= 2_147_483_647
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, which is also the JSON number grammar.
    mutating func decimal() -> Bool {
        _ = take(UInt8(ascii: "-"))
        guard let first = current, Lexer.isDigit(first) else { return false }
        if first == UInt8(ascii: "0") { position += 1 } else { _ = digits() }
        if take(UInt8(ascii: ".")) { guard digits() > 0 else { return false } }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits() > 0 else { return false }
        }
        return atEnd
    }

    mutating func oid() -> Bool {
        for byte in "urn:oid:".utf8 { guard take(byte) else { return false } }
        guard let root = current, root >= UInt8(ascii: "0"), root <= UInt8(ascii: "2") else { return false }
        position += 1
        var arcs = 0
        while take(UInt8(ascii: ".")) {
            let start = position
            let count = digits()
            guard count > 0, count == 1 || bytes[start] != UInt8(ascii: "0") else { return false }
            arcs += 1
        }
        return arcs > 0 && atEnd
    }

    mutating func uuid() -> Bool {
        for byte in "urn:uuid:".utf8 { guard take(byte) else { return false } }
        for (index, length) in [8, 4, 4, 4, 12].enumerated() {
            if index > 0 { guard take(UInt8(ascii: "-")) else { return false } }
            for _ in 0..<length {
                guard let byte = current, Lexer.isDigit(byte) || (byte &- UInt8(ascii: "a")) < 6 else { return false }
                position += 1
            }
        }
        return atEnd
    }

    /// `YYYY(-MM(-DD)?)?`, with a year other than 0000. With `requireFullDate`, month and day must be there.
    mutating func date(requireFullDate: Bool) -> Bool {
        guard let year = fixedDigits(4), year > 0 else { return false }
        guard take(UInt8(ascii: "-")) else { return !requireFullDate }
        guard let month = fixedDigits(2), (1...12).contains(month) else { return false }
        guard take(UInt8(ascii: "-")) else { return !requireFullDate }
        guard let day = fixedDigits(2), (1...31).contains(day) else { return false }
        return true
    }

    /// `hh:mm:ss(.s+)?` with hours 00–23 and seconds up to 60 (leap second).
    mutating func time() -> Bool {
        guard let hour = fixedDigits(2), hour < 24, take(UInt8(ascii: ":")),
            let minute = fixedDigits(2), minute < 60, take(UInt8(ascii: ":")),
            let second = fixedDigits(2), second <= 60
        else { return false }
        if take(UInt8(ascii: ".")) { return digits() > 0 }
        return true
    }

    /// `Z` or `(+|-)hh:mm` with hours 00–13, or exactly 14:00.
    mutating func timeZone() -> Bool {
        if take(UInt8(ascii: "Z")) { return true }
        guard take(UInt8(ascii: "+")) || take(UInt8(ascii: "-")) else { return false }
        guard let hours = fixedDigits(2), take(UInt8(ascii: ":")), let minutes = fixedDigits(2), minutes < 60 else {
            return false
        }
        return hours < 14 || (hours == 14 && minutes == 0)
    }

    /// A partial date, or a full date with a time and a time zone.
    mutating func dateTime() -> Bool {
        let start = position
        guard date(requireFullDate: false) else { return false }
        if atEnd { return true }
        guard position - start == 10, take(UInt8(ascii: "T")) else { return false }
        return time() && timeZone() && atEnd
    }

    mutating func instant() -> Bool {
        guard date(requireFullDate: true), take(UInt8(ascii: "T")) else { return false }
        return time() && timeZone() && atEnd
    }
}
