/// Builds a snapshot from a differential and the snapshot of its base, the way profile authoring tools
/// do for the parts the validator checks: each differential element is merged onto the base element
/// with the same id; a new slice starts as a copy of the sliced element (with its expanded children);
/// a path into a complex type that the base does not expand is expanded from the type's definition
/// (its profile's snapshot when the type names one).
struct SnapshotGenerator {
    /// The snapshot of a type or profile by canonical, or `nil` when it cannot be resolved.
    let snapshotOf: (String) throws(ValidationSetupError) -> [ElementConstraint]?

    func generate(differential: [DifferentialElement], base: [ElementConstraint], url: String)
        throws(ValidationSetupError) -> [ElementConstraint]
    {
        var snapshot = base
        for element in differential {
            let id = element.constraint.id
            guard let index = try locate(id, in: &snapshot, url: url) else {
                throw ValidationSetupError("\(url): differential element '\(id)' has no match in its base")
            }
            element.merge(into: &snapshot[index])
            // A new type profile replaces what the base said about the element's content: its children are
            // re-derived from that profile (later differential elements then constrain them further).
            if element.constraint.types.contains(where: { !$0.profiles.isEmpty }), element.constraint.types.count == 1,
                snapshot.indices.contains(index + 1), snapshot[index + 1].id.hasPrefix(id + ".")
            {
                snapshot.removeAll { $0.id.hasPrefix(id + ".") }
                try expand(at: index, in: &snapshot, url: url)
            }
        }
        return snapshot
    }

    /// The index of `id` in `snapshot`, creating the slice or expanding the type that holds it if needed.
    private func locate(_ id: String, in snapshot: inout [ElementConstraint], url: String)
        throws(ValidationSetupError) -> Int?
    {
        if let index = snapshot.firstIndex(where: { $0.id == id }) { return index }
        guard let dot = Self.lastSegmentStart(id) else { return nil }
        let parentID = String(id[..<dot])
        let segment = String(id[id.index(after: dot)...])
        if let colon = segment.firstIndex(of: ":") {
            // A new slice: a copy of the sliced element and the children it already has.
            let slicedID = parentID + "." + segment[..<colon]
            let sliceName = String(segment[segment.index(after: colon)...])
            guard let sliced = try locate(slicedID, in: &snapshot, url: url) else { return nil }
            var copies = [snapshot[sliced]]
            copies[0].id = id
            copies[0].sliceName = sliceName
            copies[0].slicing = nil
            // A slice is optional unless the differential says otherwise; the sliced element's own
            // minimum (and fixed or pattern value) is about all its instances, not each slice.
            copies[0].min = 0
            copies[0].fixed = nil
            copies[0].pattern = nil
            // `value[x]:valueCoding`: the slice admits the one type its name says.
            if copies[0].isChoice, let type = copies[0].types.first(where: {
                sliceName == copies[0].expressionName + $0.code.prefix(1).uppercased() + $0.code.dropFirst()
            }) {
                copies[0].types = [type]
            }
            for element in snapshot[(sliced + 1)...] where element.id.hasPrefix(slicedID + ".") {
                var copy = element
                copy.id = id + element.id.dropFirst(slicedID.count)
                copies.append(copy)
            }
            // After the sliced element's subtree and the slices that already exist.
            var end = sliced + 1
            while end < snapshot.count, snapshot[end].id.hasPrefix(slicedID + ".") || snapshot[end].id.hasPrefix(slicedID + ":") {
                end += 1
            }
            snapshot.insert(contentsOf: copies, at: end)
            return end
        }
        guard let parent = try locate(parentID, in: &snapshot, url: url) else { return nil }
        if !snapshot.indices.contains(parent + 1) || !snapshot[parent + 1].id.hasPrefix(parentID + ".") {
            try expand(at: parent, in: &snapshot, url: url)
        }
        if let index = snapshot.firstIndex(where: { $0.id == id }) { return index }
        // `medicationReference` for `medication[x]` (a differential naming the concrete choice).
        let prefix = parentID + "."
        if let choice = snapshot.firstIndex(where: {
            $0.isChoice && $0.id.hasPrefix(prefix) && !$0.id.dropFirst(prefix.count).contains(".")
                && segment.hasPrefix($0.name.dropLast(3))
        }) {
            return try locate(snapshot[choice].id + ":" + segment, in: &snapshot, url: url)
        }
        return nil
    }

    /// Inserts the children of the element at `index`, from its content reference or its type.
    private func expand(at index: Int, in snapshot: inout [ElementConstraint], url: String) throws(ValidationSetupError) {
        let element = snapshot[index]
        var children: [ElementConstraint] = []
        if let reference = element.contentReference, let hash = reference.firstIndex(of: "#") {
            // A content reference always means the unconstrained definition of the resource (R5
            // clarifies what R4 leaves open): `Parameters.parameter.part` takes the core
            // `Parameters.parameter`, not the profile's, whose `name` pattern and part slices are
            // about the parameters themselves (the ePA `*-erp` input profiles constrain both levels).
            let target = String(reference[reference.index(after: hash)...])
            let resourceType = String(target.prefix { $0 != "." })
            guard let definition = try snapshotOf(Self.coreURL(resourceType)),
                  let start = definition.firstIndex(where: { $0.id == target })
            else {
                throw ValidationSetupError("\(url): content reference '\(reference)' not found")
            }
            for child in definition[(start + 1)...] where child.id.hasPrefix(target + ".") && !child.id.contains(":") {
                var copy = child
                copy.id = element.id + child.id.dropFirst(target.count)
                copy.path = element.path + child.path.dropFirst(target.count)
                children.append(copy)
            }
        } else {
            guard element.types.count == 1, let type = element.types.first else {
                throw ValidationSetupError("\(url): cannot expand '\(element.id)' (it has \(element.types.count) types)")
            }
            let canonical = type.profiles.first ?? Self.coreURL(type.code)
            guard let typeSnapshot = try snapshotOf(canonical), let root = typeSnapshot.first else {
                throw ValidationSetupError("\(url): the type '\(canonical)' of '\(element.id)' could not be resolved")
            }
            for child in typeSnapshot.dropFirst() {
                var copy = child
                copy.id = element.id + child.id.dropFirst(root.id.count)
                copy.path = element.path + child.path.dropFirst(root.path.count)
                children.append(copy)
            }
            for invariant in root.invariants where !snapshot[index].invariants.contains(where: { $0.key == invariant.key }) {
                snapshot[index].invariants.append(invariant)
            }
        }
        snapshot.insert(contentsOf: children, at: index + 1)
    }

    /// Where the last segment of an id starts (its dot). Slice names with dots do not occur in the
    /// packages we load; such an id would be read as a deeper path and reported as unmatched.
    static func lastSegmentStart(_ id: String) -> String.Index? {
        id.lastIndex(of: ".")
    }

    static func coreURL(_ type: String) -> String {
        type.contains("/") ? type : "http://hl7.org/fhir/StructureDefinition/\(type)"
    }
}

/// A profile or package that cannot be turned into something to validate against (a differential that
/// does not fit its base, a base that cannot be resolved).
public struct ValidationSetupError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
