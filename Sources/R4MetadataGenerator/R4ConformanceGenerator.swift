public import Foundation

/// Reduces the official R4 core StructureDefinitions to what the profile validator checks, so that the
/// server can validate against our own `profiles/` (which are differentials on R4 core types) without the
/// 30 MB core package: per base type, its snapshot's ids, paths, cardinalities, types, content references,
/// required and extensible bindings and the type's own invariants; plus the ValueSets of the required
/// bindings and the codes of the CodeSystems they draw from. Texts are dropped except invariant `human`.
///
/// The output is a FHIR `collection` Bundle (JSON) that `ProfileRepository` loads like any package.
public struct R4ConformanceGenerator: Sendable {
    public let definitionsDirectory: URL

    public init(definitionsDirectory: URL) {
        self.definitionsDirectory = definitionsDirectory
    }

    /// The Bundle's bytes: deterministic (sorted keys, files in name order), so a test can compare.
    public func generate() throws -> Data {
        let files = try FileManager.default.contentsOfDirectory(atPath: definitionsDirectory.path).sorted()
        var entries: [[String: Any]] = []
        var requiredValueSets: Set<String> = []
        for file in files where file.hasPrefix("StructureDefinition-") && file.hasSuffix(".json") {
            let definition = try readJSON(file)
            // Base types, plus the two core profiles that core elements name as type profiles.
            let isTypeProfile = ["SimpleQuantity", "MoneyQuantity"].contains(definition["id"] as? String ?? "")
            guard let kind = definition["kind"] as? String, ["resource", "complex-type", "primitive-type"].contains(kind),
                definition["derivation"] as? String == "specialization" || definition["type"] as? String == "Element"
                    || isTypeProfile,
                let id = definition["id"] as? String, let snapshot = definition["snapshot"] as? [String: Any],
                let elements = snapshot["element"] as? [[String: Any]]
            else { continue }
            let reduced = elements.map { reduce($0, ownSource: id, requiredValueSets: &requiredValueSets) }
            var resource: [String: Any] = ["resourceType": "StructureDefinition", "id": id, "status": "active"]
            for key in ["url", "version", "name", "kind", "abstract", "type", "baseDefinition", "derivation"] {
                resource[key] = definition[key]
            }
            resource["snapshot"] = ["element": reduced]
            entries.append(resource)
        }
        var codeSystems: Set<String> = []
        for file in files where file.hasPrefix("ValueSet-") && file.hasSuffix(".json") {
            let valueSet = try readJSON(file)
            guard let url = valueSet["url"] as? String, requiredValueSets.contains(url) else { continue }
            var resource: [String: Any] = ["resourceType": "ValueSet", "status": "active"]
            for key in ["id", "url", "version", "name", "compose"] { resource[key] = valueSet[key] }
            entries.append(strip(resource) as? [String: Any] ?? resource)
            for include in (valueSet["compose"] as? [String: Any])?["include"] as? [[String: Any]] ?? [] {
                if let system = include["system"] as? String { codeSystems.insert(system) }
            }
        }
        for file in files where file.hasPrefix("CodeSystem-") && file.hasSuffix(".json") {
            let codeSystem = try readJSON(file)
            guard let url = codeSystem["url"] as? String, codeSystems.contains(url) else { continue }
            var resource: [String: Any] = ["resourceType": "CodeSystem", "status": "active"]
            for key in ["id", "url", "version", "name", "content"] { resource[key] = codeSystem[key] }
            resource["concept"] = codes(codeSystem["concept"] as? [[String: Any]] ?? [])
            entries.append(resource)
        }
        let bundle: [String: Any] = [
            "resourceType": "Bundle", "id": "r4-core-conformance", "type": "collection",
            "entry": entries.map { ["resource": $0] },
        ]
        return try JSONSerialization.data(withJSONObject: bundle, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// One snapshot element, reduced. Invariants inherited from a data type (`ref-1` on every Reference)
    /// are left out below the root: the validator checks an element's type definition wherever the element
    /// has content. The root keeps all (a resource's `dom-*` come from DomainResource).
    private func reduce(_ element: [String: Any], ownSource id: String, requiredValueSets: inout Set<String>) -> [String: Any] {
        var result: [String: Any] = [:]
        for key in ["id", "path", "min", "max", "contentReference", "representation"] { result[key] = element[key] }
        if let types = element["type"] as? [[String: Any]] {
            result["type"] = types.map { type in type.filter { ["code", "profile", "targetProfile", "extension"].contains($0.key) } }
        }
        if let binding = element["binding"] as? [String: Any], let strength = binding["strength"] as? String,
            strength == "required" || strength == "extensible", let valueSet = binding["valueSet"] as? String
        {
            result["binding"] = ["strength": strength, "valueSet": valueSet]
            if strength == "required" { requiredValueSets.insert(valueSet.split(separator: "|")[0].description) }
        }
        let constraints = (element["constraint"] as? [[String: Any]] ?? []).filter { constraint in
            let key = constraint["key"] as? String ?? ""
            let source = (constraint["source"] as? String)?.split(separator: "/").last.map(String.init)
            return key != "ele-1" && key != "ext-1" && (source == nil || source == id || element["id"] as? String == id)
        }
        if !constraints.isEmpty {
            result["constraint"] = constraints.map { constraint in
                constraint.filter { ["key", "severity", "human", "expression", "extension"].contains($0.key) }
            }
        }
        return result
    }

    /// Codes of a concept hierarchy, without displays and definitions.
    private func codes(_ concepts: [[String: Any]]) -> [[String: Any]] {
        concepts.map { concept in
            var result: [String: Any] = ["code": concept["code"] ?? ""]
            if let nested = concept["concept"] as? [[String: Any]] { result["concept"] = codes(nested) }
            return result
        }
    }

    /// Drops displays and designations from a ValueSet's compose.
    private func strip(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            return object.filter { !["display", "designation", "extension", "text"].contains($0.key) }.mapValues(strip)
        }
        if let array = value as? [Any] { return array.map(strip) }
        return value
    }

    private func readJSON(_ file: String) throws -> [String: Any] {
        let url = definitionsDirectory.appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw R4MetadataGenerator.Failure.unreadable(url.path) }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw R4MetadataGenerator.Failure.malformed("\(file) is not a JSON object")
        }
        return object
    }
}
