import FHIRModel

/// The `_name` member of a primitive: one entry per value, `nil` where the value has no id or extension.
struct ExtensionPart {
    var element: ResolvedElement
    var parts: [[Element]?]
    var offset: Int
}

/// Line and column of byte offsets, remembered between calls so that many warnings do not rescan the input.
struct PositionCache {
    private var offset = 0
    private var line = 1
    private var lineStart = 0

    mutating func lineAndColumn(of target: Int, in scanner: JSONScanner) -> (line: Int, column: Int) {
        if target < offset { self = PositionCache() }
        let end = min(target, scanner.count)
        var index = offset
        while index < end {
            if scanner.base[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        offset = max(offset, end)
        return (line, target - lineStart + 1)
    }
}

/// A name from the input for an error message: control characters escaped, long names cut, so the
/// message stays writable in XML and carries no long input (which could be personal data).
func displayName(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    let text = String(decoding: bytes.prefix(64), as: UTF8.self)
    let escaped = text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "\\u{\(String($0.value, radix: 16))}" : String($0) }
    return escaped.joined() + (bytes.count > 64 ? "…" : "")
}

enum PrimitiveRead {
    case text(String)
    case null
    case dropped
}

extension JSONTreeReader {
    /// In strict mode the failure is thrown; in lenient mode it becomes a warning and reading goes on.
    mutating func recover(_ failure: ReadFailure) throws {
        if strict { throw failure }
        guard warnings.count < maxWarnings else { return }
        let position = failure.offset.map { positions.lineAndColumn(of: $0, in: scanner) }
        warnings.append(failure.issue(path: path, line: position?.line, column: position?.column, severity: .warning))
        if warnings.count == maxWarnings {
            warnings.append(OperationOutcome.Issue(severity: .warning, code: .tooCostly,
                                                   text: "More than \(maxWarnings) warnings; further ones are not reported"))
        }
    }

    /// Reads a primitive's JSON value, checks the JSON type and the lexical form of `primitive`.
    /// Error messages never repeat the value: it may be personal data.
    mutating func readPrimitiveValue(_ element: ResolvedElement, as primitive: PrimitiveType, allowNull: Bool) throws
        -> PrimitiveRead
    {
        let offset = scanner.position
        // A primitive is one level of nesting, as its XML element is.
        guard depth < maxDepth else {
            throw ReadFailure(code: .tooCostly, message: "Nesting deeper than \(maxDepth) levels", offset: offset)
        }
        guard let byte = scanner.peek() else { throw scanner.unexpected("a value") }
        let found: PrimitiveType.JSONKind
        var text: String
        var lexicallyValid: Bool
        switch byte {
        case UInt8(ascii: "\""):
            let raw = try scanner.readRawString()
            found = .string
            if raw.hasEscapes {
                text = try scanner.decode(raw)
                lexicallyValid = primitive.isValid(text)
            } else {
                lexicallyValid = primitive.isValid(scanner.bytes(raw))
                text = try scanner.decode(raw)
            }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try recover(ReadFailure(code: .structure, message: "Expected a primitive value for '\(element.name)'", offset: offset))
            try scanner.skipValue(depth: depth, maxDepth: maxDepth)
            return .dropped
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try scanner.readNumber()
            guard range.count <= scanner.maxStringBytes else {
                throw ReadFailure(code: .tooLong, message: "Number of \(range.count) digits exceeds the limit of \(scanner.maxStringBytes)",
                                  offset: range.lowerBound)
            }
            let bytes = UnsafeBufferPointer(start: scanner.base + range.lowerBound, count: range.count)
            found = .number
            lexicallyValid = primitive.isValid(bytes)
            text = String(decoding: bytes, as: UTF8.self)
        default:
            switch try scanner.readLiteral() {
            case .null:
                if allowNull {
                    nullPlaceholders += 1
                    return .null
                }
                try recover(ReadFailure(code: .structure, message: "null is not a value for '\(element.name)'", offset: offset))
                return .dropped
            case .true: text = "true"
            case .false: text = "false"
            }
            found = .boolean
            lexicallyValid = primitive.isValid(text)
        }
        let expected = primitive.jsonKind
        if found != expected {
            try recover(ReadFailure(
                code: .structure,
                message: "Expected a JSON \(expected.rawValue) for '\(element.name)' (\(primitive.rawValue)), found a \(found.rawValue)",
                offset: offset))
        }
        if text.isEmpty {
            try recover(ReadFailure(code: .structure, message: "Empty string for '\(element.name)'", offset: offset))
            return .dropped
        }
        if primitive == .xhtml, let problem = XHTMLFragment.problem(in: text) {
            try recover(ReadFailure(code: .value, message: "Invalid narrative XHTML: \(problem)", offset: offset))
            return .dropped
        }
        guard lexicallyValid else {
            try recover(ReadFailure(code: .value, message: "Invalid \(primitive.rawValue) value for '\(element.name)'",
                                    offset: offset))
            return .dropped
        }
        return .text(text)
    }

    /// The `_name` member: an object, or for repeating elements an array of objects and nulls.
    mutating func readExtensionParts(_ element: ResolvedElement, primitiveType: Int) throws -> [[Element]?] {
        let offset = scanner.position
        guard element.definition.isRepeating else {
            guard scanner.peek() == UInt8(ascii: "{") else { throw scanner.unexpected("an object for '_\(element.name)'") }
            let children = try readObject(primitiveType)
            return [children.isEmpty ? nil : children]
        }
        guard scanner.peek() == UInt8(ascii: "[") else {
            try recover(ReadFailure(code: .structure, message: "Expected an array for '_\(element.name)'", offset: offset))
            guard scanner.peek() == UInt8(ascii: "{") else { throw scanner.unexpected("an object") }
            return [try readObject(primitiveType)]
        }
        scanner.position += 1
        var parts: [[Element]?] = []
        if scanner.peek() == UInt8(ascii: "]") {
            scanner.position += 1
            try recover(ReadFailure(code: .structure, message: "Empty array for '_\(element.name)'", offset: offset))
            return parts
        }
        while true {
            path.setIndex(parts.count)
            switch scanner.peek() {
            case UInt8(ascii: "{"):
                let children = try readObject(primitiveType)
                parts.append(children.isEmpty ? nil : children)  // `{}` was reported; it carries nothing
            case UInt8(ascii: "n"):
                guard try scanner.readLiteral() == .null else { throw scanner.unexpected("an object or null") }
                parts.append(nil)
            default: throw scanner.unexpected("an object or null")
            }
            if scanner.peek() == UInt8(ascii: ",") {
                scanner.position += 1
                continue
            }
            try scanner.expect(UInt8(ascii: "]"), "',' or ']'")
            return parts
        }
    }

    /// Joins each `_name` member to the values of `name`, position by position. Matching is by the concrete
    /// name: the types of a choice share one definition index, and `_valueString` must not land on `valueQuantity`.
    mutating func merge(_ extensionParts: [ExtensionPart], from base: Int) throws {
        for part in extensionParts {
            let name = part.element.name
            var low = base
            while low < pending.count && pending.order[low] != part.element.index { low += 1 }
            var high = low
            while high < pending.count && pending.order[high] == part.element.index { high += 1 }
            if low < high && pending[low].name != name {
                try recover(ReadFailure(code: .structure,
                                        message: "'_\(name)' does not match the value '\(pending[low].name)'",
                                        offset: part.offset))
                continue
            }
            if low == high {
                // Only `_name`: values without a value, each must carry an id or extensions.
                for children in part.parts {
                    guard let children else {
                        try recover(ReadFailure(code: .structure,
                                                message: "null in '_\(name)' without a value in '\(name)'",
                                                offset: part.offset))
                        continue
                    }
                    pending.append(Element(name: name, children: children), order: part.element.index)
                }
                continue
            }
            guard high - low == part.parts.count else {
                try recover(ReadFailure(
                    code: .structure,
                    message: "'_\(name)' has \(part.parts.count) entries but '\(name)' has \(high - low)",
                    offset: part.offset))
                continue
            }
            for (offset, children) in part.parts.enumerated() {
                if let children { pending[low + offset].children = children }
            }
        }
    }

    /// A `null` array item must have been filled from `_name`; one that was not is dropped (lenient) or an error.
    mutating func checkPlaceholders(from base: Int, objectStart: Int) throws {
        var index = base
        while index < pending.count {
            if pending[index].value == nil && pending[index].children.isEmpty {
                let name = pending[index].name
                pending.remove(at: index)
                try recover(ReadFailure(code: .structure, message: "null in '\(name)' without a matching '_\(name)' entry",
                                        offset: objectStart))
                continue
            }
            index += 1
        }
    }
}
