import CLibXML2
import FHIRModel

extension XMLTreeBuilder {
    func startElement(_ localName: UnsafePointer<xmlChar>, _ prefix: UnsafePointer<xmlChar>?,
                      _ uri: UnsafePointer<xmlChar>?, namespaceCount: Int,
                      namespaces: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, attributeCount: Int,
                      attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) {
        if divDepth > 0 {
            divDepth += 1
            if frames.count + divDepth > limits.maxDepth { stop(.tooCostly, "Nesting deeper than \(limits.maxDepth) levels") }
            return
        }
        if skipDepth > 0 {
            skipDepth += 1
            return
        }
        guard frames.count < limits.maxDepth else {
            stop(.tooCostly, "Nesting deeper than \(limits.maxDepth) levels")
            return
        }
        let nameBytes = xmlBytes(localName)
        let inFHIRNamespace = isFHIRNamespace(uri)
        guard let parent = frames.last else {
            guard inFHIRNamespace, let typeIndex = definitions.resourceIndex(nameBytes) else {
                stop(.structure, "The root element must be a FHIR resource in the \(fhirNamespace) namespace")
                return
            }
            path.push(definitions.types[typeIndex].name)
            open(.object(typeIndex: typeIndex), name: definitions.types[typeIndex].name, order: 0,
                 attributeCount: attributeCount, attributes: attributes)
            return
        }
        let typeIndex: Int
        switch parent.kind {
        case .resourceWrapper:
            guard inFHIRNamespace, let resourceIndex = definitions.resourceIndex(nameBytes) else {
                if recover(.structure, "Unknown resource type '\(displayName(nameBytes))'") { skipDepth = 1 }
                return
            }
            guard pending.count == parent.childStart else {
                if recover(.structure, "Only one resource is allowed here") { skipDepth = 1 }
                return
            }
            open(.object(typeIndex: resourceIndex), name: definitions.types[resourceIndex].name, order: 0,
                 attributeCount: attributeCount, attributes: attributes, isNestedResource: true)
            return
        case .object(let index), .primitive(let index):
            typeIndex = index
        }
        let type = definitions.types[typeIndex]
        guard let element = type.resolve(nameBytes) else {
            if recover(.structure, "Unknown element '\(displayName(nameBytes))' in \(type.name)") {
                skipDepth = 1
            }
            return
        }
        if element.definition.isXHTML {
            guard equals(uri, "http://www.w3.org/1999/xhtml") else {
                if recover(.structure, "The narrative div must be in the XHTML namespace \(xhtmlNamespace)") { skipDepth = 1 }
                return
            }
            guard checkOrder(element) else { return }
            startDiv(element, prefix: prefix, namespaceCount: namespaceCount, namespaces: namespaces)
            return
        }
        guard inFHIRNamespace else {
            if recover(.structure, "Element '\(element.name)' is outside the FHIR namespace \(fhirNamespace)") { skipDepth = 1 }
            return
        }
        guard !element.definition.isXMLAttribute else {
            if recover(.structure, "'\(element.name)' must be written as an XML attribute") { skipDepth = 1 }
            return
        }
        guard checkOrder(element) else { return }
        let top = frames.count - 1
        path.push(element.name, index: element.definition.isRepeating ? frames[top].runLength : -1)
        switch element.type {
        case .complex(let childType):
            open(.object(typeIndex: childType), name: element.name, order: element.index,
                 attributeCount: attributeCount, attributes: attributes)
        case .primitive(let primitive, let childType):
            open(.primitive(typeIndex: childType), name: element.name, order: element.index,
                 attributeCount: attributeCount, attributes: attributes, primitive: primitive)
        case .resource:
            open(.resourceWrapper, name: element.name, order: element.index, attributeCount: attributeCount,
                 attributes: attributes)
        case .system:
            path.pop()
            if recover(.structure, "'\(element.name)' must be written as an XML attribute") { skipDepth = 1 }
        }
    }

    /// XML order is significant: children must follow definition order, and only repeating elements repeat.
    private func checkOrder(_ element: ResolvedElement) -> Bool {
        let top = frames.count - 1
        let last = frames[top].lastElementIndex
        if !element.definition.isRepeating && !frames[top].seenOnce.insert(element.index) {
            let message = element.definition.isChoice
                ? "More than one value for the choice element '\(element.definition.name)[x]'"
                : "Element '\(element.name)' appears more than once"
            if recover(.structure, message, at: element.name) { skipDepth = 1 }
            return false
        }
        if element.index == last {
            frames[top].runLength += 1  // a further repeat; non-repeating ones were refused above
            return true
        }
        if element.index < last {
            guard recover(.structure, "Element '\(element.name)' is out of order: FHIR XML follows the definition order",
                          at: element.name)
            else { return false }
        }
        frames[top].lastElementIndex = max(last, element.index)
        frames[top].runLength = 0
        return true
    }

    private func open(_ kind: XMLFrame.Kind, name: String, order: Int, attributeCount: Int,
                      attributes: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?, primitive: PrimitiveType? = nil,
                      isNestedResource: Bool = false) {
        var frame = XMLFrame(kind: kind, name: name, value: nil, order: order, childStart: pending.count)
        frame.pushedPath = !isNestedResource
        for index in 0..<attributeCount {
            // A strict refusal of an earlier attribute stopped the parser, and stopping frees libxml2's
            // input buffer that the remaining attribute pointers point into (found by fuzzing).
            guard failure == nil else { return }
            guard let attribute = attributes?.advanced(by: index * 5), let attributeName = attribute[0],
                let start = attribute[3], let end = attribute[4]
            else { continue }
            let attributeBytes = xmlBytes(attributeName)
            var attributeText: String { displayName(attributeBytes) }
            guard attribute[2] == nil else {
                _ = recover(.structure, "Attribute '\(attributeText)' in another namespace is not allowed on '\(name)'")
                continue
            }
            let valueBytes = UnsafeBufferPointer(start: start, count: end - start)
            // Check the raw bytes before making a String; `&` means libxml2 rewrote it (see attributeValue).
            let hasAmpersand = valueBytes.contains(UInt8(ascii: "&"))
            let validBytes = primitive.map { !hasAmpersand && $0.isValid(valueBytes) } ?? false
            guard let value = attributeValue(start, end, hasAmpersand: hasAmpersand) else { return }
            if equals(attributeName, "value") {
                guard let primitive else {
                    _ = recover(.structure, "'\(name)' is not a primitive and cannot have a value attribute")
                    continue
                }
                if value.isEmpty {
                    _ = recover(.structure, "Empty value attribute on '\(name)'")
                } else if validBytes || primitive.isValid(value) {
                    frame.value = value
                } else {
                    _ = recover(.value, "Invalid \(primitive.rawValue) value for '\(name)'")
                }
                continue
            }
            let ownerType: Int?
            switch kind {
            case .object(let typeIndex), .primitive(let typeIndex): ownerType = typeIndex
            case .resourceWrapper: ownerType = nil
            }
            if let ownerType, addAttributeChild(attributeBytes, value, ownerType, name) { continue }
            _ = recover(.structure, "Unknown attribute '\(attributeText)' on '\(name)'")
        }
        frames.append(frame)
    }

    /// `id` and `url` attributes become children, placed by definition order when the element closes.
    private func addAttributeChild(_ nameBytes: UnsafeBufferPointer<UInt8>, _ value: String, _ typeIndex: Int,
                                   _ owner: String) -> Bool {
        guard let element = definitions.types[typeIndex].resolve(nameBytes), element.definition.isXMLAttribute else {
            return false
        }
        if value.isEmpty || !PrimitiveType.string.isValid(value) {
            _ = recover(.value, "Invalid value of attribute '\(element.name)' on '\(owner)'")
            return true
        }
        pending.append(Element(name: element.name, value: value), order: element.index)
        return true
    }

    /// The narrative is kept as the exact input bytes from `<div` to `</div>`.
    private func startDiv(_ element: ResolvedElement, prefix: UnsafePointer<xmlChar>?, namespaceCount: Int,
                          namespaces: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?) {
        // libxml2 reports the start tag with its cursor on the closing `>` (or `/>`); attribute values
        // cannot contain `<`, so the tag starts at the nearest `<` before it.
        var start = min(byteOffset, input.count) - 1
        while start > 0 && input[start] != UInt8(ascii: "<") { start -= 1 }
        guard start >= 0, input[start] == UInt8(ascii: "<") else {
            stop(.structure, "Invalid narrative div")
            return
        }
        divStart = start
        divOrder = element.index
        divDepth = 1
        // The JSON form is the div alone, so it must declare the namespace of its own name itself.
        let prefixText = prefix.map { String(cString: $0) }
        var declared = false
        for index in 0..<namespaceCount {
            // Pairs of (prefix, URI); a nil prefix is the default namespace.
            let declaredPrefix = namespaces?[index * 2].map { String(cString: $0) }
            if declaredPrefix == prefixText, equals(namespaces?[index * 2 + 1], "http://www.w3.org/1999/xhtml") { declared = true }
        }
        divMissingDeclaration = declared ? nil : " xmlns\(prefixText.map { ":" + $0 } ?? "")=\"\(xhtmlNamespace)\""
        path.push(element.name)
    }

    private func finishDiv() {
        let end = min(byteOffset, input.count)
        guard divStart < end else {
            stop(.structure, "Invalid narrative div")
            return
        }
        let bytes = UnsafeBufferPointer(rebasing: input[divStart..<end])
        guard bytes.count <= limits.maxStringBytes else {
            stop(.tooLong, "Narrative of \(bytes.count) bytes exceeds the limit of \(limits.maxStringBytes)")
            return
        }
        guard var text = String(validating: bytes, as: UTF8.self), text.hasPrefix("<") else {
            stop(.structure, "Invalid narrative div")
            return
        }
        if let declaration = divMissingDeclaration {
            // After the tag name, which ends at XML whitespace, `/` or `>`.
            let nameEnd = text.utf8.firstIndex { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 == 0x2F || $0 == 0x3E }
            text.insert(contentsOf: declaration, at: nameEnd ?? text.endIndex)
        }
        path.pop()
        pending.append(Element(name: "div", value: text), order: divOrder)
    }

    func endElement() {
        if divDepth > 0 {
            divDepth -= 1
            if divDepth == 0 { finishDiv() }
            return
        }
        if skipDepth > 0 {
            skipDepth -= 1
            return
        }
        guard let frame = frames.popLast() else { return }
        let children = pending.take(from: frame.childStart)
        var keep = true
        switch frame.kind {
        case .resourceWrapper:
            if children.count != 1 {
                _ = recover(.structure, "'\(frame.name)' must contain exactly one resource")
                keep = false
            }
        case .primitive:
            if frame.value == nil && children.isEmpty {
                _ = recover(.structure, "Element '\(frame.name)' has neither a value nor extensions")
                keep = false
            }
        case .object:
            if children.isEmpty && frame.pushedPath && !frames.isEmpty {
                _ = recover(.structure, "Element '\(frame.name)' is empty")
                keep = false
            }
        }
        if frame.pushedPath { path.pop() }
        guard failure == nil, keep else { return }
        let element = Element(name: frame.name, value: frame.value, children: children)
        if frames.isEmpty {
            result = element
        } else {
            pending.append(element, order: frame.order)
        }
    }
}
