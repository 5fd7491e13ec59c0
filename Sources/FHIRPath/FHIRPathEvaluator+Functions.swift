import FHIRModel
import Foundation

extension FHIRPathEvaluator {
    func call(_ function: FHIRPathFunction, on input: [FHIRPathItem], arguments: [FHIRPathExpression], context: Context)
        throws(FHIRPathError) -> [FHIRPathItem]
    {
        let name = function.text
        guard let kind = function.kind else { throw FHIRPathError("unsupported function \(name)()") }
        /// Evaluates argument `index` once, with the whole input as focus (for non-iterating arguments).
        func argument(_ index: Int) throws(FHIRPathError) -> [FHIRPathItem] {
            guard arguments.indices.contains(index) else { throw FHIRPathError("\(name)() needs argument \(index + 1)") }
            return try evaluate(arguments[index], focus: input, context: context)
        }
        func stringArgument(_ index: Int) throws(FHIRPathError) -> String {
            guard let first = try argument(index).first, let text = string(first) else {
                throw FHIRPathError("\(name)() needs a string argument")
            }
            return text
        }
        /// The single input as a string, for string functions; `nil` means an empty result.
        func singleString() throws(FHIRPathError) -> String? {
            guard let first = input.first else { return nil }
            guard input.count == 1 else { throw FHIRPathError("\(name)() needs a single item, got \(input.count)") }
            return string(first)
        }
        /// Evaluates argument 0 once per input item, with that item as `$this`.
        func perItem(_ body: (FHIRPathItem, [FHIRPathItem]) throws(FHIRPathError) -> Void) throws(FHIRPathError) {
            guard let criteria = arguments.first else { throw FHIRPathError("\(name)() needs an argument") }
            // One focus list for all items, replaced in place (a list per item cost an allocation each;
            // when a result still holds the list, the replacement copies it, as it must).
            var focus: [FHIRPathItem] = []
            for item in input {
                if focus.isEmpty { focus.append(item) } else { focus[0] = item }
                try body(item, try evaluate(criteria, focus: focus, context: context))
            }
        }

        switch kind {
        case .empty: return Self.result(input.isEmpty)
        case .exists:
            guard !arguments.isEmpty else { return Self.result(!input.isEmpty) }
            var found = false
            try perItem { (_, result) throws(FHIRPathError) in if try Self.boolean(result) == true { found = true } }
            return Self.result(found)
        case .all:
            var all = true
            try perItem { (_, result) throws(FHIRPathError) in if try Self.boolean(result) != true { all = false } }
            return Self.result(all)
        case .`where`:
            if case .binary(let op, .member(nil, let member), .string(let literal))? = arguments.first, op.kind == .equal,
                let kept = filter(input, whereChild: member, equals: literal)
            {
                return kept
            }
            var kept: [FHIRPathItem] = []
            try perItem { (item, result) throws(FHIRPathError) in if try Self.boolean(result) == true { kept.append(item) } }
            return kept
        case .select:
            var selected: [FHIRPathItem] = []
            try perItem { (_, result) throws(FHIRPathError) in selected.append(contentsOf: result) }
            return selected
        case .count: return [.integer(input.count)]
        case .first: return Array(input.prefix(1))
        case .last: return Array(input.suffix(1))
        case .single:
            guard input.count <= 1 else { throw FHIRPathError("single() on \(input.count) items") }
            return input
        case .distinct: return distinct(input)
        case .isDistinct: return Self.result(distinct(input).count == input.count)
        case .not:
            guard let value = try Self.boolean(input) else { return [] }
            return Self.result(!value)
        case .allTrue, .anyTrue:
            var trueCount = 0
            for item in input where try Self.boolean([item]) == true { trueCount += 1 }
            return Self.result(kind == .allTrue ? trueCount == input.count : trueCount > 0)
        case .hasValue:
            guard input.count == 1, case .node(_, let nodeType) = input[0] else { return Self.result(false) }
            if case .type = nodeType { return Self.result(false) }
            return Self.result(systemValue(input[0]) != nil)
        case .iif:
            let condition = try Self.boolean(try argument(0)) == true
            if condition { return try argument(1) }
            return arguments.count > 2 ? try argument(2) : []
        case .ofType:
            guard case .member(nil, let typeName)? = arguments.first else { throw FHIRPathError("ofType() needs a type name") }
            return input.filter { isOfType($0, typeName) }
        case .`extension`:
            let url = try stringArgument(0)
            return input.flatMap { children(of: $0, named: "extension", isFirstStep: false) }.filter { item in
                guard case .node(let element, _) = item else { return false }
                return element.value(of: "url") == url
            }
        case .children:
            return input.flatMap { item -> [FHIRPathItem] in
                guard case .node(let element, _) = item else { return [] }
                return Set(element.children.map(\.name)).flatMap { children(of: item, named: $0, isFirstStep: false) }
            }
        case .trace: return input
        case .resolve: return input.compactMap { resolve($0, in: context.document) }
        case .descendants:
            var result: [FHIRPathItem] = []
            var frontier = input
            while !frontier.isEmpty {
                let next = frontier.flatMap { item -> [FHIRPathItem] in
                    guard case .node(let element, _) = item else { return [] }
                    var names: [String] = []
                    for child in element.children where !names.contains(child.name) { names.append(child.name) }
                    return names.flatMap { children(of: item, named: $0, isFirstStep: false) }
                }
                result.append(contentsOf: next)
                frontier = next
            }
            return result
        case .`as`, .`is`:
            guard case .member(nil, let typeName)? = arguments.first else { throw FHIRPathError("\(name)() needs a type name") }
            if kind == .as { return input.filter { isOfType($0, typeName) } }
            guard input.count <= 1 else { throw FHIRPathError("is() needs a single item") }
            return input.isEmpty ? [] : Self.result(isOfType(input[0], typeName))
        case .join:
            let separator = arguments.isEmpty ? "" : try stringArgument(0)
            return [.string(input.compactMap { string($0) }.joined(separator: separator))]
        case .toString:
            guard let text = try singleString() else { return [] }
            return [.string(text)]
        case .length:
            guard let text = try singleString() else { return [] }
            return [.integer(text.count)]
        case .lower, .upper:
            guard let text = try singleString() else { return [] }
            return [.string(kind == .lower ? text.lowercased() : text.uppercased())]
        case .startsWith, .endsWith, .contains:
            guard let text = try singleString() else { return [] }
            let other = try stringArgument(0)
            let result = kind == .startsWith ? text.hasPrefix(other) : kind == .endsWith ? text.hasSuffix(other) : text.contains(other)
            return Self.result(result)
        case .substring:
            guard let text = try singleString() else { return [] }
            guard case .integer(let start)? = try argument(0).first else { throw FHIRPathError("substring() needs a start") }
            let characters = Array(text)
            guard start >= 0, start < characters.count else { return [] }
            var end = characters.count
            if arguments.count > 1, case .integer(let length)? = try argument(1).first { end = start + min(max(0, length), end - start) }
            return [.string(String(characters[start..<end]))]
        case .split:
            guard let text = try singleString() else { return [] }
            let separator = try stringArgument(0)
            guard !separator.isEmpty else { return [.string(text)] }
            return Self.split(text, separator).map { .string(String($0)) }
        case .replace:
            guard let text = try singleString() else { return [] }
            return [.string(text.replacing(try stringArgument(0), with: try stringArgument(1)))]
        case .indexOf:
            guard let text = try singleString() else { return [] }
            let other = try stringArgument(0)
            guard let range = text.range(of: other) else { return [.integer(-1)] }
            return [.integer(text.distance(from: text.startIndex, to: range.lowerBound))]
        case .matches:
            guard let text = try singleString() else { return [] }
            let pattern = try stringArgument(0)
            guard let regex = RegexCache.shared.regex(pattern) else {
                throw FHIRPathError("invalid regular expression in matches()")
            }
            return Self.result(regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil)
        case .today, .now:
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = kind == .today ? [.withFullDate] : [.withInternetDateTime]
            return [.date(formatter.string(from: Date()))]
        }
    }

    /// `where(name = 'literal')`, the commonest criteria of the profiles' invariants (`extension.where(url
    /// = '…')`, `coding.where(code = '…')`, `part.where(name = '…')`): each item's child compared in
    /// place, with one scratch list for the whole filter instead of lists per item and step. The answer
    /// is the general one: no child or several keep nothing, one keeps the item when its value's text is
    /// the literal. `nil` for a child whose value is a boolean or number (its text is not what `=`
    /// compares): the general evaluation decides then.
    func filter(_ input: [FHIRPathItem], whereChild name: String, equals literal: String) -> [FHIRPathItem]? {
        var kept: [FHIRPathItem] = []
        var step = MemberStep(name: name, isFirstStep: true)
        var children: [FHIRPathItem] = []
        for item in input {
            children.removeAll(keepingCapacity: true)
            appendChildren(of: item, step: &step, to: &children)
            guard children.count == 1, case .node(let child, let type) = children[0] else { continue }
            switch type {
            case .primitive(.boolean, _), .primitive(.integer, _), .primitive(.positiveInt, _), .primitive(.unsignedInt, _),
                .primitive(.decimal, _), .type:
                return nil
            case .primitive, .system:
                if child.value == literal { kept.append(item) }
            }
        }
        return kept
    }

    /// The items without repeats, in first-seen order. When every item is of one kind whose
    /// FHIRPath equality is plain value equality (complex nodes, strings, numbers, booleans), they
    /// are told apart by hashing: the pairwise comparison made a union of n dosage instructions cost
    /// n² deep comparisons (issue 19). Anything else (dates of mixed precision, strings beside
    /// numbers) keeps the pairwise comparison, whose answers are not an equivalence.
    func distinct(_ items: [FHIRPathItem]) -> [FHIRPathItem] {
        if items.count > 8, let keys = distinctKeys(items) {
            var seen = Set<DistinctKey>(minimumCapacity: items.count)
            var result: [FHIRPathItem] = []
            for (item, key) in zip(items, keys) where seen.insert(key).inserted { result.append(item) }
            return result
        }
        var result: [FHIRPathItem] = []
        for item in items where !result.contains(where: { equal($0, item) == true }) { result.append(item) }
        return result
    }

    enum DistinctKey: Hashable {
        case node(Element), string(String), number(Double), boolean(Bool)

        var kind: Int {
            switch self {
            case .node: 0
            case .string: 1
            case .number: 2
            case .boolean: 3
            }
        }
    }

    /// Keys under which `equal` is key equality, or `nil` when the items are not all of one such kind.
    private func distinctKeys(_ items: [FHIRPathItem]) -> [DistinctKey]? {
        var keys: [DistinctKey] = []
        keys.reserveCapacity(items.count)
        for item in items {
            let key: DistinctKey
            if case .node(let element, .type) = item {
                key = .node(element)
            } else {
                switch systemValue(item) {
                case .string(let text)?: key = .string(text)
                case .boolean(let value)?: key = .boolean(value)
                case .integer(let value)?: key = .number(Double(value))
                case .decimal(let value)?: key = .number(value)
                default: return nil
                }
            }
            if let first = keys.first, first.kind != key.kind { return nil }
            keys.append(key)
        }
        return keys
    }

    /// `resolve()` within the document: see ``Element/resolveReference(_:)``.
    func resolve(_ item: FHIRPathItem, in resource: FHIRPathItem) -> FHIRPathItem? {
        guard case .node(let reference, _) = item, let target = reference.value(of: "reference") ?? reference.value,
            case .node(let root, _) = resource, let found = root.resolveReference(target),
            let index = definitions.index(of: found.name)
        else { return nil }
        return .node(found, .type(index))
    }

    /// `split()`: the pieces between literal occurrences of `separator`, empty ones kept. An ASCII
    /// one-byte separator (`'/'`, `'|'`, `':'`, what invariants split references by) is found by a scan
    /// of the UTF-8 bytes: an ASCII byte never occurs inside another scalar's encoding, so every cut
    /// falls between Unicode scalars. That is how the HL7 engine splits (Java's split on code units):
    /// `'a\r\nb'.split('\n')` is `'a\r'`, `'b'`, where a split by `Character` keeps CR LF whole. The
    /// `Character` split also cost a microsecond per call (one invariant on every `$dispense` splits
    /// twice).
    static func split(_ text: String, _ separator: String) -> [Substring] {
        if separator.utf8.count == 1, let byte = separator.utf8.first, byte < 0x80 {
            let utf8 = text.utf8
            var pieces: [Substring] = []
            var start = utf8.startIndex
            var index = start
            while index != utf8.endIndex {
                if utf8[index] == byte {
                    pieces.append(text[start..<index])
                    start = utf8.index(after: index)
                }
                index = utf8.index(after: index)
            }
            pieces.append(text[start..<utf8.endIndex])
            return pieces
        }
        var pieces: [Substring] = []
        var rest = text[...]
        while let range = rest.range(of: separator) {
            pieces.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }
}

/// Compiled `matches()` patterns: invariants use a handful of patterns on every validation, and compiling
/// one costs more than the rest of an invariant. Bounded, so hostile expressions cannot grow it for ever.
final class RegexCache: @unchecked Sendable {
    static let shared = RegexCache()
    private let lock = NSLock()
    private var compiled: [String: NSRegularExpression] = [:]

    /// The pattern anchored as a whole-string match, or `nil` when it does not compile.
    func regex(_ pattern: String) -> NSRegularExpression? {
        if let hit = lock.withLock({ compiled[pattern] }) { return hit }
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$", options: [.dotMatchesLineSeparators]) else {
            return nil
        }
        lock.withLock {
            if compiled.count >= 256 { compiled.removeAll() }
            compiled[pattern] = regex
        }
        return regex
    }
}
