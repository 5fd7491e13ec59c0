import FHIRModel
import Synchronization

/// What a ValueSet admits, as far as the loaded CodeSystems tell: per code system either an explicit set
/// of codes, or "any code" where the system is external (PZN, ATC, SNOMED CT) or filtered in a way we do
/// not evaluate. The validator accepts any code of such a system rather than guess.
struct ValueSetExpansion: Sendable {
    enum Codes: Sendable {
        case listed(Set<String>)
        case any
    }
    var systems: [String: Codes] = [:]
    /// Whether every system was expanded completely (a binding can then be judged exactly).
    var isComplete = true

    func contains(system: String?, code: String) -> Bool {
        if let system {
            switch systems[system] {
            case .listed(let codes)?: return codes.contains(code)
            case .any?: return true
            case nil: return false
            }
        }
        // A bare `code`: any system of the value set that has it.
        return systems.values.contains { codes in
            if case .listed(let set) = codes { return set.contains(code) }
            return true
        }
    }

    mutating func add(_ system: String, _ codes: Codes) {
        switch (systems[system], codes) {
        case (.any?, _), (_, .any): systems[system] = .any
        case (.listed(let existing)?, .listed(let more)): systems[system] = .listed(existing.union(more))
        case (nil, _): systems[system] = codes
        }
    }
}

/// Expands ValueSets from the repository's ValueSets and CodeSystems, caching the results.
final class Terminology: Sendable {
    let repository: ProfileRepository
    private let cache = Mutex<[String: ValueSetExpansion?]>([:])
    /// Per CodeSystem (`url|version` under a context): each code's display and designations.
    private let displayCache = Mutex<[DisplayKey: [String: [String]]]>([:])

    struct DisplayKey: Hashable {
        let system: String
        let context: ObjectIdentifier
    }

    init(repository: ProfileRepository) {
        self.repository = repository
    }

    /// The expansion of `canonical`, or `nil` when the ValueSet is not in the repository.
    func expansion(_ canonical: String) -> ValueSetExpansion? {
        if let hit = cache.withLock({ $0[canonical] }) { return hit }
        var visiting: Set<String> = []
        let result = expand(canonical, visiting: &visiting)
        cache.withLock { $0[canonical] = result }
        return result
    }

    private func expand(_ canonical: String, visiting: inout Set<String>) -> ValueSetExpansion? {
        guard let valueSet = repository.resolve(canonical, type: "ValueSet")?.element, visiting.insert(canonical).inserted else {
            return nil
        }
        var result = ValueSetExpansion()
        // A stored expansion lists the codes outright.
        if let contains = valueSet.child("expansion")?.children(named: "contains"), valueSet.child("compose") == nil {
            for item in contains { addExpansionItem(item, to: &result) }
            return result
        }
        guard let compose = valueSet.child("compose") else { return result }
        for include in compose.children(named: "include") {
            var part = ValueSetExpansion()
            if let system = include.value(of: "system") {
                let concepts = include.children(named: "concept").compactMap { $0.value(of: "code") }
                if !concepts.isEmpty {
                    part.add(system, .listed(Set(concepts)))
                } else if include.child("filter") != nil {
                    let filtered = filter(include, system: system)
                    part.add(system, filtered.map(ValueSetExpansion.Codes.listed) ?? .any)
                    if filtered == nil { part.isComplete = false }
                } else if let codes = allCodes(of: system) {
                    part.add(system, .listed(codes))
                } else {
                    part.add(system, .any)
                    part.isComplete = false
                }
            }
            // `valueSet` entries intersect with each other and with the system part; all we use is union
            // of single references, which is what the dispensing packages contain.
            for reference in include.children(named: "valueSet").compactMap(\.value) {
                if let inner = expand(reference, visiting: &visiting) {
                    for (system, codes) in inner.systems { part.add(system, codes) }
                    if !inner.isComplete { part.isComplete = false }
                } else {
                    part.isComplete = false
                }
            }
            for (system, codes) in part.systems { result.add(system, codes) }
            if !part.isComplete { result.isComplete = false }
        }
        for exclude in compose.children(named: "exclude") {
            guard let system = exclude.value(of: "system"), case .listed(var codes)? = result.systems[system] else { continue }
            codes.subtract(exclude.children(named: "concept").compactMap { $0.value(of: "code") })
            result.systems[system] = .listed(codes)
        }
        return result
    }

    private func addExpansionItem(_ item: Element, to result: inout ValueSetExpansion) {
        if let system = item.value(of: "system"), let code = item.value(of: "code") { result.add(system, .listed([code])) }
        for nested in item.children(named: "contains") { addExpansionItem(nested, to: &result) }
    }

    /// The texts that may stand as the display of `code` in `system` (its `display` and its
    /// designations' values), from the CodeSystem as the validation context resolves it (`version`
    /// when the Coding names one); `nil` when we hold no such CodeSystem, it lacks the code, or the
    /// concept has no display: then there is nothing to compare against.
    func displays(system: String, version: String?, code: String, context: ResolutionContext) -> [String]? {
        let canonical = version.map { "\(system)|\($0)" } ?? system
        let key = DisplayKey(system: canonical, context: ObjectIdentifier(context))
        if let known = displayCache.withLock({ $0[key] }) { return known[code] }
        var table: [String: [String]] = [:]
        if let codeSystem = repository.resolve(canonical, type: "CodeSystem", preferring: context.packages)?.element {
            func collect(_ concept: Element) {
                if let code = concept.value(of: "code"), let display = concept.value(of: "display") {
                    table[code] = [display] + concept.children(named: "designation").compactMap { $0.value(of: "value") }
                }
                for nested in concept.children(named: "concept") { collect(nested) }
            }
            for concept in codeSystem.children(named: "concept") { collect(concept) }
        }
        displayCache.withLock { $0[key] = table }
        return table[code]
    }

    /// All codes of a CodeSystem we hold completely; `nil` for external or fragment systems.
    private func allCodes(of system: String) -> Set<String>? {
        guard let codeSystem = repository.resolve(system, type: "CodeSystem")?.element,
            codeSystem.value(of: "content") == "complete"
        else { return nil }
        var codes: Set<String> = []
        func collect(_ concept: Element) {
            if let code = concept.value(of: "code") { codes.insert(code) }
            for nested in concept.children(named: "concept") { collect(nested) }
        }
        for concept in codeSystem.children(named: "concept") { collect(concept) }
        return codes
    }

    /// `concept is-a X` / `descendent-of X` over a complete CodeSystem's hierarchy; `nil` for other filters.
    private func filter(_ include: Element, system: String) -> Set<String>? {
        guard let codeSystem = repository.resolve(system, type: "CodeSystem")?.element,
            codeSystem.value(of: "content") == "complete"
        else { return nil }
        var result: Set<String>?
        for filter in include.children(named: "filter") {
            guard filter.value(of: "property") == "concept", let op = filter.value(of: "op"),
                op == "is-a" || op == "descendent-of", let value = filter.value(of: "value")
            else { return nil }
            var codes: Set<String> = []
            func collect(_ concept: Element, inside: Bool) {
                let code = concept.value(of: "code")
                let isRoot = code == value
                if inside || (isRoot && op == "is-a") { code.map { _ = codes.insert($0) } }
                for nested in concept.children(named: "concept") { collect(nested, inside: inside || isRoot) }
            }
            for concept in codeSystem.children(named: "concept") { collect(concept, inside: false) }
            result = result.map { $0.intersection(codes) } ?? codes
        }
        return result
    }
}
