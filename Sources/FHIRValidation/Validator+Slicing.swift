import FHIRModel
import FHIRPath

extension ProfileValidator {
    /// Assigns each instance of a sliced element to the first slice whose discriminators it meets, checks
    /// each slice's cardinality and the slicing rules, and validates every instance against its slice (or
    /// against the sliced element when it falls in no slice of an open slicing).
    func validateSliced(_ instances: ArraySlice<Located>, node: ProfileNode, path: ElementPath, scope: Scope, run: inout Run) {
        var members: [[Located]] = Array(repeating: [], count: node.slices.count)
        let rules = node.constraint.slicing?.rules ?? .open
        let context = scope.context(run)
        let document = run.rootResource
        for instance in instances {
            if let index = node.slices.indices.first(where: {
                belongs(instance, to: node.slices[$0], slicedBy: node, context: context, document: document)
            }) {
                members[index].append(instance)
            } else if rules == .closed {
                run.add(.error, .structure,
                        "\(node.constraint.id): the element matches none of the slices, and the slicing is closed", at: instance.path)
            } else {
                validateChild(instance, node: node, scope: scope, run: &run)
            }
        }
        for (slice, sliceMembers) in zip(node.slices, members) {
            checkCardinality(slice, count: sliceMembers.count, path: path, run: &run)
            for member in sliceMembers { validateChild(member, node: slice, scope: scope, run: &run) }
        }
    }

    /// Whether an instance meets every discriminator of the slicing for `slice`. A discriminator that
    /// cannot be evaluated (no value to compare, a path or profile we cannot follow) admits nothing, so an
    /// instance is never filed under a slice it was not shown to belong to.
    func belongs(_ instance: Located, to slice: ProfileNode, slicedBy node: ProfileNode, context: ResolutionContext,
                 document: Element) -> Bool {
        // A choice element sliced by type (`medication[x]:medicationReference`): the concrete name decides.
        guard let slicing = node.constraint.slicing, !slicing.discriminators.isEmpty else {
            return node.isChoice && slice.constraint.sliceName == instance.element.name
        }
        for discriminator in slicing.discriminators {
            let segments = discriminator.path == "$this" ? [] : discriminator.path.split(separator: ".")
            switch discriminator.kind {
            case .value, .pattern:
                guard let target = definitionNode(slice, at: segments, context: context),
                    let expected = target.constraint.fixed ?? target.constraint.pattern
                else { return false }
                let exactly = target.constraint.fixed != nil && discriminator.kind == .value
                let values = Self.items(instance.element, at: segments)
                if !values.contains(where: { ValueMatching.matches($0, expected, exactly: exactly) }) { return false }
            case .exists:
                guard let target = definitionNode(slice, at: segments, context: context) else { return false }
                let present = !Self.items(instance.element, at: segments).isEmpty
                if target.constraint.min >= 1 && !present { return false }
                if target.constraint.max == 0 && present { return false }
            case .type:
                let typeName: String
                if segments.isEmpty, case .resource = instance.type, let inner = instance.element.wrappedResource {
                    typeName = inner.name
                } else if segments.isEmpty {
                    typeName = definitions.name(of: FHIRPathItem.NodeType(instance.type))
                } else if segments == ["resource"], let inner = instance.element.child("resource")?.wrappedResource {
                    typeName = inner.name
                } else {
                    return false
                }
                let target = definitionNode(slice, at: segments == ["resource"] ? [] : segments, context: context) ?? slice
                let allowed = (segments == ["resource"] ? target.child(named: "resource")?.constraint.types : target.constraint.types) ?? []
                if !allowed.isEmpty && !allowed.contains(where: { $0.code == typeName }) { return false }
            case .profile:
                guard let resource = segments == ["resource"] ? instance.element.child("resource")?.wrappedResource
                    : (segments.isEmpty ? instance.element.wrappedResource : nil),
                    let holder = segments == ["resource"] ? slice.child(named: "resource") : slice
                else { return false }
                let canonicals = holder.constraint.types.flatMap(\.profiles)
                guard !canonicals.isEmpty else { return false }
                let conforms = canonicals.contains { canonical in
                    var trial = Run(rootResource: document, definitions: definitions)
                    trial.context = context
                    validateResource(resource, path: instance.path, required: [canonical], run: &trial)
                    return !trial.issues.contains { $0.severity == .error || $0.severity == .fatal }
                }
                if !conforms { return false }
            }
        }
        return true
    }

    /// The definition node at a discriminator path below a slice, following type profiles (an extension
    /// slice's `url` lives in the extension's own definition).
    func definitionNode(_ slice: ProfileNode, at segments: [Substring], context: ResolutionContext) -> ProfileNode? {
        var node = slice
        for segment in segments {
            if let next = node.child(named: String(segment)) {
                node = next
                continue
            }
            guard node.children.isEmpty, let canonical = node.constraint.types.first?.profiles.first,
                let profile = try? profiles.profile(canonical, in: context), let next = profile.root.child(named: String(segment))
            else { return nil }
            node = next
        }
        return node
    }

    /// The instance elements at a simple discriminator path (`system`, `code.coding`, `url`).
    static func items(_ element: Element, at segments: [Substring]) -> [Element] {
        var current = [element]
        for segment in segments {
            current = current.flatMap { item in item.children.filter { $0.name == segment } }
        }
        return current
    }
}

/// Compares instance elements with `fixed[x]` and `pattern[x]` values.
enum ValueMatching {
    /// `exactly`: the value and every child must be equal (fixed); otherwise the instance must contain
    /// everything the pattern has (pattern, where repeating elements match any instance element).
    static func matches(_ instance: Element, _ expected: Element, exactly: Bool) -> Bool {
        if let value = expected.value, instance.value != value { return false }
        if exactly && expected.value == nil && instance.value != nil { return false }
        for child in expected.children {
            let candidates = instance.children.filter { $0.name == child.name }
            if !candidates.contains(where: { matches($0, child, exactly: exactly) }) { return false }
        }
        if exactly {
            let relevant = instance.children.filter { $0.name != "id" && $0.name != "extension" }
            if relevant.count != expected.children.count { return false }
        }
        return true
    }

    /// A short rendering of a fixed or pattern value for messages (definition data, never instance data).
    static func describe(_ expected: Element) -> String {
        if let value = expected.value { return "'\(value)'" }
        let parts = expected.children.map { child in "\(child.name)=\(child.value.map { "'\($0)'" } ?? describe(child))" }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
