public import FHIRModel
import FHIRPath

/// Validates element trees against StructureDefinitions: cardinality (also of slices), types and
/// reference targets, fixed and pattern values, slicing, bindings, extensions and invariants.
///
/// Where a profile does not expand a complex element, the element is checked against the definition of
/// its type (the type's profile where one is named, else the R4 core type), so the core invariants and
/// bindings of every data type apply too. Each issue names the element by a FHIRPath expression with an
/// index on every repeating element (`Parameters.parameter[0].part[0].resource.identifier[0].system`).
public struct ProfileValidator: Sendable {
    public let profiles: CompiledProfiles
    let terminology: Terminology
    let evaluator: FHIRPathEvaluator
    let definitions: TypeDefinitions
    /// The type index of `Coding`, whose displays are checked wherever one occurs.
    let codingType: Int?

    public init(profiles: CompiledProfiles, definitions: TypeDefinitions = R4CoreDefinitions.shared) {
        self.profiles = profiles
        self.terminology = Terminology(repository: profiles.repository)
        self.evaluator = FHIRPathEvaluator(definitions: definitions)
        self.definitions = definitions
        codingType = definitions.index(of: "Coding")
    }

    /// Validates `resource` against `profile` when given, else against each profile it declares in
    /// `meta.profile` (the base definition of its type when it declares none that resolves).
    ///
    /// `package` (`name#version`) sets the validation context: unversioned canonicals resolve within that
    /// package and its dependencies first, as a validator set up for that package version would. Without
    /// it, the package of the first profile used for the resource sets the context.
    public func validate(_ resource: Element, profile: String? = nil, package: String? = nil) -> OperationOutcome {
        var run = Run(rootResource: resource, definitions: definitions)
        if let package { run.context = profiles.context(ofPackage: package) }
        if let profile {
            validateResource(resource, path: ElementPath(resource.name), required: [profile], run: &run)
        } else {
            validateResource(resource, path: ElementPath(resource.name), required: [], run: &run)
        }
        return OperationOutcome(issues: run.issues)
    }

    /// What one validation collects; also remembers which warnings were already given once.
    struct Run {
        /// The outermost resource (Bundle, Parameters or the resource itself): where references resolve.
        let rootResource: Element
        /// The same as FHIRPath's `resolve()` searches it.
        let document: FHIRPathItem
        var issues: [OperationOutcome.Issue] = []
        var reported: Set<String> = []
        /// The packages of the first profile the root resource is checked against: unversioned canonicals
        /// resolve to their versions first, as the validation context of that package version would.
        var context = ResolutionContext.none
        /// The answers of invariants that read no element but their resource, by resource scope.
        var resourceInvariants: [InvariantKey: Bool?] = [:]
        private var scopes = 0

        struct InvariantKey: Hashable {
            let invariant: ObjectIdentifier
            let scope: Int
        }

        /// A number for a new resource scope, unique within the validation.
        mutating func newScope() -> Int {
            scopes += 1
            return scopes
        }

        init(rootResource: Element, definitions: TypeDefinitions) {
            self.rootResource = rootResource
            document = .node(rootResource, .type(definitions.resourceTypeIndex(rootResource.name) ?? 0))
        }

        var errorCount: Int { issues.count { $0.severity == .error || $0.severity == .fatal } }

        mutating func add(_ severity: OperationOutcome.Severity, _ code: OperationOutcome.IssueCode, _ text: String,
                          at path: ElementPath) {
            issues.append(OperationOutcome.Issue(severity: severity, code: code, text: text, expression: [path.description]))
        }

        /// Adds a warning about a definition once per validation (not once per element).
        mutating func addOnce(_ key: String, _ code: OperationOutcome.IssueCode, _ text: String, at path: ElementPath) {
            guard reported.insert(key).inserted else { return }
            add(.warning, code, text, at: path)
        }
    }

    /// Where an element sits: the resource holding it, the resource that contains that one (FHIRPath's
    /// `%rootResource`; the same unless it is contained), and the profile whose tree is being walked.
    struct Scope {
        let resource: Element
        let container: Element
        let profile: CompiledProfile
        /// `resource` and `container` as FHIRPath sees them (`%resource`, `%rootResource`): typed
        /// once per resource, not looked up by name for every invariant.
        let resourceItem: FHIRPathItem
        let containerItem: FHIRPathItem
        /// Which resource scope this is within the validation (``Run/newScope()``).
        let serial: Int

        init(resource: Element, container: Element, profile: CompiledProfile, definitions: TypeDefinitions, serial: Int) {
            self.serial = serial
            self.resource = resource
            self.container = container
            self.profile = profile
            resourceItem = .node(resource, .type(definitions.resourceTypeIndex(resource.name) ?? 0))
            containerItem = .node(container, .type(definitions.resourceTypeIndex(container.name) ?? 0))
        }

        private init(_ scope: Scope, profile: CompiledProfile) {
            resource = scope.resource
            container = scope.container
            self.profile = profile
            resourceItem = scope.resourceItem
            containerItem = scope.containerItem
            serial = scope.serial
        }

        func with(_ profile: CompiledProfile) -> Scope {
            Scope(self, profile: profile)
        }

        /// Where the profile being walked resolves its references: its own package's context, or else
        /// the validation's.
        func context(_ run: Run) -> ResolutionContext {
            profile.context === ResolutionContext.none ? run.context : profile.context
        }
    }

    // MARK: Resources

    /// Validates a resource against one of `required` (the caller's `--profile`, or the `type.profile`s of
    /// the element holding it: the one the resource claims, else the first) and the profiles it declares.
    func validateResource(_ resource: Element, path: ElementPath, required: [String], container: Element? = nil, run: inout Run) {
        let declared = resource.child("meta")?.children(named: "profile").compactMap(\.value) ?? []
        var chosen: [CompiledProfile] = []
        func use(_ canonical: String, isRequired: Bool) {
            do {
                guard let profile = try profiles.profile(canonical, in: run.context) else {
                    if isRequired {
                        run.add(.error, .notFound, "Profile \(canonical) could not be resolved", at: path)
                    } else {
                        run.addOnce("profile \(canonical)", .notFound,
                                    "Profile \(canonical) could not be resolved; checked against the base definition of \(resource.name) only",
                                    at: path)
                    }
                    return
                }
                // One object per definition (see ``CompiledProfiles``): the same object is the same canonical.
                guard !chosen.contains(where: { $0 === profile }) else { return }
                guard profile.type == resource.name else {
                    run.add(.error, .structure, "Profile \(canonical) is for \(profile.type), not \(resource.name)", at: path)
                    return
                }
                chosen.append(profile)
                if run.context === ResolutionContext.none { run.context = profile.context }
            } catch {
                run.addOnce("profile \(canonical)", .notSupported, "Profile \(canonical) cannot be used: \(error.description)", at: path)
            }
        }
        if let first = required.first {
            let claimed = required.first { wanted in declared.contains { Self.sameURL($0, wanted) } } ?? first
            // An unversioned type profile means the version the resource itself claims, when it claims one.
            let versioned = claimed.utf8.contains(UInt8(ascii: "|")) ? nil : declared.first { Self.sameURL($0, claimed) }
            use(versioned ?? claimed, isRequired: true)
        }
        for canonical in declared { use(canonical, isRequired: false) }
        if chosen.isEmpty { use(SnapshotGenerator.coreURL(resource.name), isRequired: true) }
        guard let typeIndex = definitions.resourceTypeIndex(resource.name) else { return }
        if resource.name == "Bundle" { checkFullURLs(of: resource, path: path, run: &run) }
        for profile in chosen {
            let serial = run.newScope()
            validate(resource, node: profile.root, type: .type(typeIndex), path: path,
                     scope: Scope(resource: resource, container: container ?? resource, profile: profile, definitions: definitions,
                                  serial: serial), run: &run)
        }
    }

    // MARK: Elements

    /// Checks one element against its definition node: invariants, value, then its children.
    func validate(_ element: Element, node: ProfileNode, type: FHIRPathItem.NodeType, path: ElementPath, scope: Scope,
                  run: inout Run) {
        checkInvariants(of: node, on: element, type: type, path: path, scope: scope, run: &run)
        guard !element.children.isEmpty, case let typeIndex? = type.index else { return }
        guard node.children.isEmpty else {
            validateChildren(of: element, typeIndex: typeIndex, definition: node, path: path, scope: scope, run: &run)
            return
        }
        let typeProfiles: [CompiledProfile]
        switch typeDefinitions(for: node, type: type, scope: scope, path: path, run: &run) {
        case .node(let root):
            checkInvariants(of: root, on: element, type: type, path: path, scope: scope, skipping: node, run: &run)
            validateChildren(of: element, typeIndex: typeIndex, definition: root, path: path, scope: scope, run: &run)
            return
        case .profiles(let found):
            typeProfiles = found
        }
        if typeProfiles.count == 1 {
            let root = typeProfiles[0].root
            checkInvariants(of: root, on: element, type: type, path: path, scope: scope, skipping: node, run: &run)
            validateChildren(of: element, typeIndex: typeIndex, definition: root, path: path, scope: scope.with(typeProfiles[0]), run: &run)
            return
        }
        // Several profiles on one type (`Identifier` as KVNR or PKV number): the element must meet one.
        var best: Run?
        for profile in typeProfiles {
            var trial = run
            trial.issues = []
            checkInvariants(of: profile.root, on: element, type: type, path: path, scope: scope, skipping: node, run: &trial)
            validateChildren(of: element, typeIndex: typeIndex, definition: profile.root, path: path, scope: scope.with(profile),
                             run: &trial)
            if best == nil || trial.errorCount < best!.errorCount { best = trial }
            if trial.errorCount == 0 { break }
        }
        if let best {
            let issues = run.issues + best.issues
            run = best
            run.issues = issues
        }
    }

    /// Matches the children of `element` to the child nodes of `definition`, checks cardinality and slices,
    /// and validates each child.
    ///
    /// The tree keeps definition order, and so do a profile's nodes, so children and nodes are matched by
    /// one walk along both (a name comparison per step, no hashing), and each node's instances are one run
    /// of the children. What the walk finds per child is plain data on the stack; the instances are made
    /// one at a time as they are validated (a list of them cost an allocation and a copy per child).
    private func validateChildren(of element: Element, typeIndex: Int, definition: ProfileNode, path: ElementPath, scope: Scope,
                                  run: inout Run) {
        let type = definitions.types[typeIndex]
        let nodes = definition.children
        let children = element.children
        let link = path.parentLink
        withUnsafeTemporaryAllocation(of: Match.self, capacity: children.count) { matches in
            var count = 0
            var previousName = ""
            var position = 0
            var cursor = 0
            var inOrder = true
            for (offset, child) in children.enumerated() {
                if child.name == previousName {
                    position += 1
                } else {
                    previousName = child.name
                    position = 0
                }
                guard let resolved = type.resolve(child.name) else { continue }
                var found: Int?
                for probe in cursor..<nodes.count where Self.defines(nodes[probe], child.name, resolved) {
                    found = probe
                    break
                }
                if found == nil, let index = definition.childIndex(named: child.name) {
                    // A profile that orders its elements unlike the base definition (none of ours or of the
                    // corpus does).
                    found = index
                    inOrder = false
                }
                guard let index = found else { continue }
                cursor = index
                (matches.baseAddress! + count).initialize(
                    to: Match(node: index, offset: offset, position: resolved.definition.isRepeating ? position : nil, type: resolved.type))
                count += 1
            }
            var matched = UnsafeMutableBufferPointer(rebasing: matches[..<count])
            if !inOrder {
                matched.sort { ($0.node, $0.offset) < ($1.node, $1.offset) }
            }
            func located(_ match: Match) -> Located {
                let child = children[match.offset]
                return Located(element: child, path: ElementPath.child(of: link, child.name, position: match.position), type: match.type)
            }
            /// Checks a node with its instances `matched[range]` (none: only its minimums).
            func check(_ index: Int, _ range: Range<Int>) {
                let node = nodes[index]
                checkCardinality(node, count: range.count, path: path, run: &run)
                if !node.slices.isEmpty {
                    // Also with no instances: a slice's minimum can still be missed.
                    validateSliced(matched[range].map(located)[...], node: node, path: path, scope: scope, run: &run)
                } else {
                    for match in matched[range] {
                        // What validateChild would find on an unconstrained leaf: nothing. A resource
                        // wrapper always has a child; an extension is checked on its own (an empty one
                        // lacks its url).
                        let child = children[match.offset]
                        if node.isUnconstrainedLeaf, child.children.isEmpty, child.name != "extension", child.name != "modifierExtension" {
                            continue
                        }
                        validateChild(located(match), node: node, scope: scope, run: &run)
                    }
                }
            }
            // Only the nodes with instances, and those with a minimum to miss: a definition lists every
            // element of its type, and an instance has few of them.
            let required = definition.requiredChildIndexes
            var nextRequired = 0
            var next = 0
            while next < count {
                let index = matched[next].node
                while nextRequired < required.count, required[nextRequired] <= index {
                    if required[nextRequired] < index { check(required[nextRequired], 0..<0) }
                    nextRequired += 1
                }
                let start = next
                while next < count, matched[next].node == index { next += 1 }
                check(index, start..<next)
            }
            for index in required[nextRequired...] { check(index, 0..<0) }
        }
    }

    /// Where the walk in ``validateChildren`` found a child: its node, its place among the children, its
    /// position among the siblings of its name (for a repeating element) and its R4 type.
    private struct Match {
        let node: Int
        let offset: Int
        let position: Int?
        let type: ElementType
    }

    /// Whether `node` defines an instance child named `name` (resolved in the R4 type as `resolved`): the
    /// same name, or the concrete name of the node's choice (`valueQuantity` for `value[x]`).
    private static func defines(_ node: ProfileNode, _ name: String, _ resolved: ResolvedElement) -> Bool {
        node.isChoice ? resolved.definition.isChoice && name.hasPrefix(node.expressionName) : node.name == name
    }

    /// An instance element with its expression and its R4 type.
    struct Located {
        let element: Element
        let path: ElementPath
        let type: ElementType
    }

    /// Checks how many instances a node (an element or a slice) has; `parent` is the parent's expression.
    func checkCardinality(_ node: ProfileNode, count: Int, path parent: ElementPath, run: inout Run) {
        let min = node.constraint.min, max = node.constraint.max
        if count < min {
            run.add(.error, .required, "\(node.constraint.id): minimum required = \(min), but only found \(count)",
                    at: parent.child(node.expressionName))
        }
        if let max, count > max {
            run.add(.error, .structure, "\(node.constraint.id): maximum allowed = \(max), but found \(count)",
                    at: parent.child(node.expressionName))
        }
    }

    /// Validates one child against its node: type, fixed/pattern value, binding, then its own content.
    func validateChild(_ child: Located, node: ProfileNode, scope: Scope, run: inout Run) {
        if case .resource = child.type {
            let constraint = node.constraint
            guard let inner = child.element.wrappedResource else { return }
            let wanted = constraint.types.filter { $0.code == inner.name || $0.code == "Resource" || $0.code == "DomainResource" }
            if !constraint.types.isEmpty && wanted.isEmpty {
                run.add(.error, .structure, "\(constraint.id): a \(inner.name) is not allowed here", at: child.path)
            }
            // A contained resource's `%rootResource` is its container; an entry or parameter stands alone.
            let container = child.element.name == "contained" ? scope.container : inner
            if let index = definitions.resourceTypeIndex(inner.name) {
                let serial = run.newScope()
                checkInvariants(of: node, on: inner, type: .type(index), path: child.path,
                                scope: Scope(resource: inner, container: container, profile: scope.profile, definitions: definitions,
                                             serial: serial),
                                run: &run)
            }
            validateResource(inner, path: child.path, required: wanted.flatMap(\.profiles), container: container, run: &run)
            return
        }
        let nodeType = FHIRPathItem.NodeType(child.type)
        if node.isChoice {
            let typeName = definitions.name(of: nodeType)
            if !node.constraint.types.contains(where: { $0.code == typeName }) {
                run.add(.error, .structure, "\(node.constraint.id): type \(typeName) is not allowed here", at: child.path)
                return
            }
        }
        if let fixed = node.constraint.fixed, !ValueMatching.matches(child.element, fixed, exactly: true) {
            run.add(.error, .value, "\(node.constraint.id): value must be exactly \(ValueMatching.describe(fixed))", at: child.path)
        }
        if let pattern = node.constraint.pattern, !ValueMatching.matches(child.element, pattern, exactly: false) {
            run.add(.error, .value, "\(node.constraint.id): value must match the pattern \(ValueMatching.describe(pattern))",
                    at: child.path)
        }
        if let binding = node.constraint.binding {
            checkBinding(binding, on: child.element, type: definitions.name(of: nodeType), path: child.path, label: node.constraint.id,
                         run: &run)
        }
        if child.element.name == "extension" || child.element.name == "modifierExtension", node.constraint.sliceName == nil,
            node.children.isEmpty
        {
            validateExtension(child, scope: scope, run: &run)
            return
        }
        checkReferenceTarget(child, node: node, run: &run)
        if case .complex(let index) = child.type, index == codingType {
            checkDisplay(of: child.element, path: child.path, scope: scope, run: &run)
        }
        validate(child.element, node: node, type: nodeType, path: child.path, scope: scope, run: &run)
    }
}
