import FHIRModel

/// Reads FHIR JSON into the element tree, driven by the R4 type definitions.
///
/// Numbers keep their text, `_name` objects become the primitive's children, JSON arrays become
/// sibling elements, and children end up in definition order whatever the key order was.
public struct FHIRJSONReader: Sendable {
    public var options: DecodingOptions

    public init(options: DecodingOptions = .strict) {
        self.options = options
    }

    public func read(_ bytes: [UInt8]) throws(FHIRFormatError) -> DecodedResource {
        try bytes.withUnsafeBufferPointer { (buffer) throws(FHIRFormatError) -> DecodedResource in try read(buffer) }
    }

    public func read(_ buffer: UnsafeRawBufferPointer) throws(FHIRFormatError) -> DecodedResource {
        try read(buffer.bindMemory(to: UInt8.self))
    }

    public func read(_ buffer: UnsafeBufferPointer<UInt8>) throws(FHIRFormatError) -> DecodedResource {
        try options.checkInputSize(buffer.count)
        var reader = JSONTreeReader(buffer, options: options)
        do {
            let resource = try reader.readDocument()
            return DecodedResource(resource: resource, warnings: reader.warnings)
        } catch let failure as ReadFailure {
            let position = failure.offset.map { reader.positions.lineAndColumn(of: $0, in: reader.scanner) }
            throw FHIRFormatError(failure.issue(path: reader.path, line: position?.line, column: position?.column))
        } catch {
            preconditionFailure("the JSON reader throws only ReadFailure, got \(error)")
        }
    }
}

/// The reading state: the scanner, the path for error reports, and one shared stack of children under
/// construction so that each finished element allocates its child array exactly once.
struct JSONTreeReader {
    var scanner: JSONScanner
    let definitions: TypeDefinitions
    let strict: Bool
    let maxDepth: Int
    var path = PathStack()
    var warnings: [OperationOutcome.Issue] = []
    var depth = 0
    var pending = PendingChildren()
    /// `null` array items read and not yet matched; compared per object, so nested objects never mix theirs in.
    var nullPlaceholders = 0
    var positions = PositionCache()
    let maxWarnings = 100

    init(_ buffer: UnsafeBufferPointer<UInt8>, options: DecodingOptions) {
        scanner = JSONScanner(buffer, maxStringBytes: options.limits.maxStringBytes)
        definitions = options.definitions
        strict = options.mode == .strict
        maxDepth = options.limits.maxDepth
    }

    mutating func readDocument() throws -> Element {
        if scanner.count >= 3, scanner.base[0] == 0xEF, scanner.base[1] == 0xBB, scanner.base[2] == 0xBF {
            scanner.position = 3  // a UTF-8 byte order mark is allowed and ignored
        }
        guard scanner.peek() == UInt8(ascii: "{") else { throw scanner.unexpected("a JSON object (a FHIR resource)") }
        let resource = try readResource(isRoot: true)
        guard scanner.peek() == nil else {
            throw ReadFailure(code: .structure, message: "Unexpected content after the resource", offset: scanner.position)
        }
        return resource
    }

    /// A resource object; the position is at its `{`.
    private mutating func readResource(isRoot: Bool) throws -> Element {
        let typeIndex = try findResourceType()
        let type = definitions.types[typeIndex]
        if isRoot { path.push(type.name) }
        let children = try readObject(typeIndex, isResource: true)
        return Element(name: type.name, children: children)
    }

    /// Finds `resourceType` (usually the first key) without consuming anything.
    private mutating func findResourceType() throws -> Int {
        let start = scanner.position
        defer { scanner.position = start }
        scanner.position += 1
        while scanner.peek() == UInt8(ascii: "\"") {
            let key = try scanner.readRawString()
            try scanner.expect(UInt8(ascii: ":"), "':'")
            let isResourceType = key.hasEscapes
                ? try scanner.decode(key) == "resourceType" : scanner.bytes(key).elementsEqual("resourceType".utf8)
            if isResourceType {
                guard scanner.peek() == UInt8(ascii: "\"") else {
                    throw ReadFailure(code: .structure, message: "resourceType must be a string", offset: scanner.position)
                }
                let valueStart = scanner.position
                let value = try scanner.readRawString()
                var name = try scanner.decode(value)
                guard let index = name.withUTF8({ definitions.resourceIndex($0) }) else {
                    let shown = name.utf8.withContiguousStorageIfAvailable(displayName) ?? "?"
                    throw ReadFailure(code: .structure, message: "Unknown resourceType '\(shown)'", offset: valueStart)
                }
                return index
            }
            try scanner.skipValue(depth: depth + 1, maxDepth: maxDepth)
            guard scanner.peek() == UInt8(ascii: ",") else { break }
            scanner.position += 1
        }
        throw ReadFailure(code: .structure, message: "Missing resourceType: the object is not a FHIR resource", offset: start)
    }

    /// What one object has seen so far.
    struct ObjectState {
        let type: TypeDefinition
        let base: Int
        let isResource: Bool
        var seen = ElementSet()
        var seenExtensionParts = ElementSet()
        var extensionParts: [ExtensionPart] = []
        var sawResourceType = false
    }

    /// The members of an object of type `typeIndex`, as children in definition order; at its `{`.
    mutating func readObject(_ typeIndex: Int, isResource: Bool = false) throws -> [Element] {
        let objectStart = scanner.position
        scanner.position += 1
        depth += 1
        guard depth <= maxDepth else {
            throw ReadFailure(code: .tooCostly, message: "Nesting deeper than \(maxDepth) levels", offset: objectStart)
        }
        let placeholdersBefore = nullPlaceholders
        var state = ObjectState(type: definitions.types[typeIndex], base: pending.count, isResource: isResource)
        if scanner.peek() != UInt8(ascii: "}") {
            while true {
                guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.unexpected("a property name") }
                let keyOffset = scanner.position
                let key = try scanner.readRawString()
                try scanner.expect(UInt8(ascii: ":"), "':'")
                if key.hasEscapes {
                    var decoded = try scanner.decode(key)
                    try decoded.withUTF8 { try readKeyedMember($0, keyOffset: keyOffset, state: &state) }
                } else {
                    try readKeyedMember(scanner.bytes(key), keyOffset: keyOffset, state: &state)
                }
                if scanner.peek() == UInt8(ascii: ",") {
                    scanner.position += 1
                    continue
                }
                try scanner.expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        } else {
            scanner.position += 1
        }
        depth -= 1

        if !state.extensionParts.isEmpty { try merge(state.extensionParts, from: state.base) }
        if nullPlaceholders > placeholdersBefore { try checkPlaceholders(from: state.base, objectStart: objectStart) }
        nullPlaceholders = placeholdersBefore
        let children = pending.take(from: state.base)
        if children.isEmpty && !isResource {
            try recover(ReadFailure(code: .structure, message: "Empty object: an element must have content", offset: objectStart))
        }
        return children
    }

    /// One `"key": value` member of an object; the position is at the value.
    private mutating func readKeyedMember(_ keyBytes: UnsafeBufferPointer<UInt8>, keyOffset: Int, state: inout ObjectState) throws {
        if state.isResource && keyBytes.elementsEqual("resourceType".utf8) {
            guard !state.sawResourceType else {
                throw ReadFailure(code: .structure, message: "Duplicate key 'resourceType'", offset: keyOffset)
            }
            state.sawResourceType = true
            return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
        }
        let isExtensionPart = keyBytes.first == UInt8(ascii: "_")
        let nameBytes = isExtensionPart ? UnsafeBufferPointer(rebasing: keyBytes.dropFirst()) : keyBytes
        guard let element = state.type.resolve(nameBytes) else {
            try recover(ReadFailure(code: .structure, message: "Unknown element '\(displayName(keyBytes))' in \(state.type.name)",
                                    offset: keyOffset))
            return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
        }
        if isExtensionPart {
            guard case .primitive(_, let primitiveType) = element.type, !element.definition.isXHTML else {
                try recover(ReadFailure(code: .structure, message: "'_\(element.name)' is only allowed on primitive elements",
                                        offset: keyOffset))
                return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
            }
            guard state.seenExtensionParts.insert(element.index) else {
                try recover(ReadFailure(code: .structure, message: "Duplicate key '_\(element.name)'", offset: keyOffset))
                return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
            }
            path.push(element.name)
            let parts = try readExtensionParts(element, primitiveType: primitiveType)
            path.pop()
            state.extensionParts.append(ExtensionPart(element: element, parts: parts, offset: keyOffset))
            return
        }
        guard state.seen.insert(element.index) else {
            let duplicate = pending.elements[state.base...].contains { $0.name == element.name }
            let message = duplicate || !element.definition.isChoice
                ? "Duplicate key '\(element.name)'"
                : "More than one value for the choice element '\(element.definition.name)[x]'"
            try recover(ReadFailure(code: .structure, message: message, offset: keyOffset))
            return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
        }
        path.push(element.name)
        try readMember(element)
        path.pop()
    }

    /// One member's value: an array for repeating elements, a single value otherwise.
    private mutating func readMember(_ element: ResolvedElement) throws {
        let valueOffset = scanner.position
        if element.definition.isRepeating {
            guard scanner.peek() == UInt8(ascii: "[") else {
                try recover(ReadFailure(code: .structure, message: "Expected an array for repeating element '\(element.name)'",
                                        offset: valueOffset))
                try readSingle(element, allowNull: false)
                return
            }
            scanner.position += 1
            if scanner.peek() == UInt8(ascii: "]") {
                scanner.position += 1
                try recover(ReadFailure(code: .structure, message: "Empty array for '\(element.name)'", offset: valueOffset))
                return
            }
            var index = 0
            path.setIndex(0)
            while true {
                path.setIndex(index)
                try readSingle(element, allowNull: true)
                index += 1
                if scanner.peek() == UInt8(ascii: ",") {
                    scanner.position += 1
                    continue
                }
                try scanner.expect(UInt8(ascii: "]"), "',' or ']'")
                return
            }
        }
        if scanner.peek() == UInt8(ascii: "[") {
            try recover(ReadFailure(code: .structure, message: "Array where '\(element.name)' allows a single value",
                                    offset: valueOffset))
            // Lenient: keep the first item, skip the rest.
            scanner.position += 1
            if scanner.peek() != UInt8(ascii: "]") {
                try readSingle(element, allowNull: false)
                while scanner.peek() == UInt8(ascii: ",") {
                    scanner.position += 1
                    try scanner.skipValue(depth: depth, maxDepth: maxDepth)
                }
            }
            try scanner.expect(UInt8(ascii: "]"), "']'")
            return
        }
        try readSingle(element, allowNull: false)
    }

    /// One value of an element, appended to the children under construction.
    private mutating func readSingle(_ element: ResolvedElement, allowNull: Bool) throws {
        let offset = scanner.position
        switch element.type {
        case .complex(let typeIndex):
            guard scanner.peek() == UInt8(ascii: "{") else {
                try recover(ReadFailure(code: .structure, message: "Expected an object for '\(element.name)'", offset: offset))
                return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
            }
            let children = try readObject(typeIndex)
            if !children.isEmpty { pending.append(Element(name: element.name, children: children), order: element.index) }
        case .resource:
            guard scanner.peek() == UInt8(ascii: "{") else {
                try recover(ReadFailure(code: .structure, message: "Expected a resource object for '\(element.name)'",
                                        offset: offset))
                return try scanner.skipValue(depth: depth, maxDepth: maxDepth)
            }
            // The wrapper is a level of its own, as `<resource>` is in XML.
            depth += 1
            let resource = try readResource(isRoot: false)
            depth -= 1
            pending.append(Element(name: element.name, children: [resource]), order: element.index)
        case .system:
            if case .text(let value) = try readPrimitiveValue(element, as: .string, allowNull: false) {
                pending.append(Element(name: element.name, value: value), order: element.index)
            }
        case .primitive(let primitive, _):
            switch try readPrimitiveValue(element, as: primitive, allowNull: allowNull) {
            case .text(let value): pending.append(Element(name: element.name, value: value), order: element.index)
            // A `null` in an array holds the place of an item whose content is in `_name`.
            case .null: pending.append(Element(name: element.name), order: element.index)
            case .dropped: break
            }
        }
    }
}
