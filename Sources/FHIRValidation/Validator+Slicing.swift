import FHIRModel
import FHIRPath

extension ProfileValidator {
    /// Assigns each instance of a sliced element to the first slice whose discriminators it meets, checks
    /// each slice's cardinality and the slicing rules, and validates every instance against its slice (or
    /// against the sliced element when it falls in no slice of an open slicing).
    func validateSliced(_ instances: ArraySlice<Located>, node: ProfileNode, path: ElementPath, scope: Scope, run: inout Run) {
        guard !instances.isEmpty else {
            // Most sliced elements (extension lists) have no instances: only the slices' minimums apply.
            for slice in node.slices { checkCardinality(slice, count: 0, path: path, run: &run) }
            return
        }
        let rules = node.constraint.slicing?.rules ?? .open
        let context = scope.context(run)
        let tests = sliceTests(of: node, context: context)
        let document = run.rootResource
        let slices = node.slices
        // Which slice each instance is in (-1: none), and how many each slice has: plain numbers on the
        // stack, not a list of instances per slice.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: instances.count + slices.count) { numbers in
            let counts = UnsafeMutableBufferPointer(rebasing: numbers[instances.count...])
            counts.initialize(repeating: 0)
            for (offset, instance) in instances.enumerated() {
                numbers[offset] = -1
                if let index = tests.indices.first(where: {
                    belongs(instance, to: slices[$0], tests: tests[$0], context: context, document: document)
                }) {
                    numbers[offset] = index
                    counts[index] += 1
                } else if rules == .closed {
                    run.add(.error, .structure,
                            "\(node.constraint.id): the element matches none of the slices, and the slicing is closed", at: instance.path)
                } else {
                    validateChild(instance, node: node, scope: scope, run: &run)
                }
            }
            for (index, slice) in slices.enumerated() {
                checkCardinality(slice, count: counts[index], path: path, run: &run)
                guard counts[index] > 0 else { continue }
                for (offset, instance) in instances.enumerated() where numbers[offset] == index {
                    validateChild(instance, node: slice, scope: scope, run: &run)
                }
            }
        }
    }

    /// One discriminator of one slice, with what the definitions say about it worked out: the value to
    /// compare, the bounds of an `exists`. Made once per sliced node and context (see ``sliceTests``).
    enum SliceTest: Sendable {
        /// `value`/`pattern`: an item at `segments` matches `expected`.
        case value(segments: [String], expected: Element, exactly: Bool)
        /// `exists`: the items at `segments` are present when `present`, absent when `absent`.
        case exists(segments: [String], present: Bool, absent: Bool)
        /// `type` and `profile`: decided per instance (they look at the instance's resource).
        case perInstance(ElementConstraint.Slicing.Discriminator.Kind, segments: [String])
        /// The definitions give nothing to compare with: the slice admits nothing.
        case never
        /// A choice element sliced by type without discriminators: the concrete name is the slice name.
        case concreteName(String?)
    }

    /// The tests of each slice of `node`, cached per node and context: every instance of every
    /// extension list is filed by them, and working them out walked the definitions each time.
    func sliceTests(of node: ProfileNode, context: ResolutionContext) -> [[SliceTest]] {
        let key = CompiledProfiles.SliceKey(node: ObjectIdentifier(node), context: ObjectIdentifier(context))
        if let cached = profiles.cachedSliceTests(key) { return cached }
        let tests = node.slices.map { slice -> [SliceTest] in
            guard let slicing = node.constraint.slicing, !slicing.discriminators.isEmpty else {
                return [node.isChoice ? .concreteName(slice.constraint.sliceName) : .never]
            }
            return slicing.discriminators.flatMap { discriminator -> [SliceTest] in
                let segments = discriminator.path == "$this" ? [] : discriminator.path.split(separator: ".").map(String.init)
                switch discriminator.kind {
                case .value, .pattern:
                    guard let target = definitionNode(slice, at: segments[...], context: context) else { return [.never] }
                    if let expected = target.constraint.fixed ?? target.constraint.pattern {
                        return [.value(segments: segments, expected: expected,
                                       exactly: target.constraint.fixed != nil && discriminator.kind == .value)]
                    }
                    // The element is sliced itself, its value fixed in a required slice: KBV's bundles slice
                    // their entries by `resource.meta.profile`, which each entry's profile fixes in a slice
                    // (`meta.profile:erpProfile`). An instance must carry every such value, as the HL7
                    // validator reads it.
                    let required = target.slices.filter { $0.constraint.min >= 1 }.compactMap { required -> SliceTest? in
                        guard let expected = required.constraint.fixed ?? required.constraint.pattern else { return nil }
                        return .value(segments: segments, expected: expected,
                                      exactly: required.constraint.fixed != nil && discriminator.kind == .value)
                    }
                    return required.isEmpty ? [.never] : required
                case .exists:
                    guard let target = definitionNode(slice, at: segments[...], context: context) else { return [.never] }
                    return [.exists(segments: segments, present: target.constraint.min >= 1, absent: target.constraint.max == 0)]
                case .type, .profile:
                    return [.perInstance(discriminator.kind, segments: segments)]
                }
            }
        }
        profiles.cacheSliceTests(key, tests)
        return tests
    }

    /// Whether an instance meets every test of a slice. A discriminator that cannot be evaluated (no value
    /// to compare, a path or profile we cannot follow) admits nothing, so an instance is never filed under
    /// a slice it was not shown to belong to.
    func belongs(_ instance: Located, to slice: ProfileNode, tests: [SliceTest], context: ResolutionContext, document: Element) -> Bool {
        for test in tests {
            switch test {
            case .never:
                return false
            case .concreteName(let name):
                if name != instance.element.name { return false }
            case .value(let segments, let expected, let exactly):
                if !Self.anyItem(instance.element, at: segments[...], where: { ValueMatching.matches($0, expected, exactly: exactly) }) {
                    return false
                }
            case .exists(let segments, let present, let absent):
                let found = Self.anyItem(instance.element, at: segments[...]) { _ in true }
                if present && !found { return false }
                if absent && found { return false }
            case .perInstance(let kind, let segments):
                if !belongs(instance, to: slice, by: kind, at: segments, context: context, document: document) { return false }
            }
        }
        return true
    }

    /// A `type` or `profile` discriminator: what the instance's type or resource is decides.
    private func belongs(_ instance: Located, to slice: ProfileNode, by kind: ElementConstraint.Slicing.Discriminator.Kind,
                         at segments: [String], context: ResolutionContext, document: Element) -> Bool {
        switch kind {
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
            let target = definitionNode(slice, at: segments == ["resource"] ? [] : segments[...], context: context) ?? slice
            let allowed = (segments == ["resource"] ? target.child(named: "resource")?.constraint.types : target.constraint.types) ?? []
            return allowed.isEmpty || allowed.contains { $0.code == typeName }
        case .profile:
            guard let resource = segments == ["resource"] ? instance.element.child("resource")?.wrappedResource
                : (segments.isEmpty ? instance.element.wrappedResource : nil),
                let holder = segments == ["resource"] ? slice.child(named: "resource") : slice
            else { return false }
            let canonicals = holder.constraint.types.flatMap(\.profiles)
            return canonicals.contains { canonical in
                var trial = Run(rootResource: document, definitions: definitions)
                trial.context = context
                validateResource(resource, path: instance.path, required: [canonical], run: &trial)
                return !trial.issues.contains { $0.severity == .error || $0.severity == .fatal }
            }
        case .value, .pattern, .exists:
            return false
        }
    }

    /// The definition node at a discriminator path below a slice, following type profiles (an extension
    /// slice's `url` lives in the extension's own definition).
    func definitionNode(_ slice: ProfileNode, at segments: ArraySlice<String>, context: ResolutionContext) -> ProfileNode? {
        var node = slice
        for segment in segments {
            if let next = node.child(named: segment) {
                node = next
                continue
            }
            guard node.children.isEmpty, let canonical = node.constraint.types.first?.profiles.first,
                let profile = try? profiles.profile(canonical, in: context), let next = profile.root.child(named: segment)
            else { return nil }
            node = next
        }
        return node
    }

    /// Whether an instance element at a simple discriminator path (`system`, `code.coding`, `url`,
    /// `resource.meta.profile`) meets `test`; walks the children in place, with no list per step.
    static func anyItem(_ element: Element, at segments: ArraySlice<String>, where test: (Element) -> Bool) -> Bool {
        guard let segment = segments.first else { return test(element) }
        let rest = segments.dropFirst()
        return element.children.contains { child in
            guard child.name == segment else { return false }
            // A resource wrapper (`Bundle.entry.resource`; its one child is named by a resource type, which
            // no element name is): the path goes on inside the resource.
            if child.children.count == 1, child.children[0].name.first?.isUppercase == true {
                return anyItem(child.children[0], at: rest, where: test)
            }
            return anyItem(child, at: rest, where: test)
        }
    }
}

/// Compares instance elements with `fixed[x]` and `pattern[x]` values.
enum ValueMatching {
    /// `exactly`: the value and every child must be equal (fixed); otherwise the instance must contain
    /// everything the pattern has (pattern, where repeating elements match any instance element).
    static func matches(_ instance: Element, _ expected: Element, exactly: Bool) -> Bool {
        if let value = expected.value, instance.value != value { return false }
        if exactly && expected.value == nil && instance.value != nil { return false }
        for child in expected.children
        where !instance.children.contains(where: { $0.name == child.name && matches($0, child, exactly: exactly) }) {
            return false
        }
        return !exactly || instance.children.count { $0.name != "id" && $0.name != "extension" } == expected.children.count
    }

    /// A short rendering of a fixed or pattern value for messages (definition data, never instance data).
    static func describe(_ expected: Element) -> String {
        if let value = expected.value { return "'\(value)'" }
        let parts = expected.children.map { child in "\(child.name)=\(child.value.map { "'\($0)'" } ?? describe(child))" }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
