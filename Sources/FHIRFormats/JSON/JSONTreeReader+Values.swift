import FHIRModel

/// A set of element indexes of one type (types have at most 128 elements, checked by the generator).
struct ElementSet {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// Inserts; returns false if the index was already there.
    mutating func insert(_ index: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(index & 63)
        if index < 64 {
            defer { low |= bit }
            return low & bit == 0
        }
        defer { high |= bit }
        return high & bit == 0
    }
}

/// The `_name` member of a primitive: one entry per value, `nil` where the value has no id or extension.
struct ExtensionPart {
    var element: ResolvedElement
    var parts: [[Element]?]
    var offset: Int
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
        let position = failure.offset.map { scanner.lineAndColumn(of: $0) }
        warnings.append(failure.issue(path: path, line: position?.line, column: position?.column, severity: .warning))
    }

    mutating func append(_ element: Element, _ order: Int) {
        pending.append(element)
        pendingOrder.append(order)
    }

    /// Removes the children built since `base` and returns them in definition order (stable for repeats).
    mutating func takeChildren(from base: Int) -> [Element] {
        var sorted = true
        var index = base + 1
        while index < pendingOrder.count {
            if pendingOrder[index] < pendingOrder[index - 1] {
                sorted = false
                break
            }
            index += 1
        }
        let children: [Element]
        if sorted {
            children = Array(pending[base...])
        } else {
            let order = pendingOrder
            let positions = (base..<pending.count).sorted { (order[$0], $0) < (order[$1], $1) }
            children = positions.map { pending[$0] }
        }
        pending.removeSubrange(base...)
        pendingOrder.removeSubrange(base...)
        return children
    }

    /// Reads a primitive's JSON value, checks the JSON type and the lexical form of `primitive`.
    /// Error messages never repeat the value: it may be personal data.
    mutating func readPrimitiveValue(_ element: ResolvedElement, as primitive: PrimitiveType, allowNull: Bool) throws
        -> PrimitiveRead
    {
        let offset = scanner.position
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
            return [try readObject(primitiveType)]
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
            case UInt8(ascii: "{"): parts.append(try readObject(primitiveType))
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

    /// Joins each `_name` member to the values of `name`, position by position.
    mutating func merge(_ extensionParts: [ExtensionPart], from base: Int) throws {
        for part in extensionParts {
            let index = part.element.index
            var low = base
            while low < pending.count && pendingOrder[low] != index { low += 1 }
            var high = low
            while high < pending.count && pendingOrder[high] == index { high += 1 }
            if low == high {
                // Only `_name`: values without a value, each must carry an id or extensions.
                for children in part.parts {
                    guard let children else {
                        try recover(ReadFailure(code: .structure,
                                                message: "null in '_\(part.element.name)' without a value in '\(part.element.name)'",
                                                offset: part.offset))
                        continue
                    }
                    append(Element(name: part.element.name, children: children), index)
                }
                continue
            }
            guard high - low == part.parts.count else {
                try recover(ReadFailure(
                    code: .structure,
                    message: "'_\(part.element.name)' has \(part.parts.count) entries but '\(part.element.name)' has \(high - low)",
                    offset: part.offset))
                continue
            }
            for (offset, children) in part.parts.enumerated() {
                guard let children else { continue }
                if pending[low + offset].value == nil { nullPlaceholders -= 1 }
                pending[low + offset].children = children
            }
        }
    }

    /// A `null` array item must have been filled from `_name`; one that was not is dropped (lenient) or an error.
    mutating func checkPlaceholders(from base: Int, objectStart: Int) throws {
        var index = base
        while index < pending.count {
            if pending[index].value == nil && pending[index].children.isEmpty {
                nullPlaceholders -= 1
                let name = pending[index].name
                pending.remove(at: index)
                pendingOrder.remove(at: index)
                try recover(ReadFailure(code: .structure, message: "null in '\(name)' without a matching '_\(name)' entry",
                                        offset: objectStart))
                continue
            }
            index += 1
        }
    }
}
