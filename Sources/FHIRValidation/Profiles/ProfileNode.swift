import FHIRModel
import FHIRPath

/// How an invariant is checked: natively (an invariant with its exact expression; the parsed FHIRPath
/// for the shapes the native check leaves to the engine), as parsed FHIRPath, or not at all (with the
/// reason, reported as a warning).
enum InvariantEvaluation: Sendable {
    case native(NativeInvariants.Check, FHIRPathExpression)
    /// Hoisted (``FHIRPathProgram``): linear where the expression as written iterates over the
    /// resource inside an iteration.
    case fhirPath(FHIRPathProgram)
    case unusable(FHIRPathError)
}

/// An invariant with how it is checked. A class: every element of every validation walks its node's
/// invariants, and a reference costs one count where the definition's strings and expression cost many.
final class CompiledInvariant: Sendable {
    let invariant: ElementConstraint.Invariant
    let evaluation: InvariantEvaluation

    init(_ invariant: ElementConstraint.Invariant, _ evaluation: InvariantEvaluation) {
        self.invariant = invariant
        self.evaluation = evaluation
    }
}

/// One element of a compiled profile, with its children and slices as a tree, and its invariants parsed
/// once. A class: a compiled profile is shared by every validation and never changes.
public final class ProfileNode: Sendable {
    public let constraint: ElementConstraint
    /// The last path segment (`value[x]`), and as an expression names it (`value`); computed once.
    public let name: String
    public let expressionName: String
    /// `constraint.isChoice`, which compares the path's text, kept: asked of every instance element.
    public let isChoice: Bool
    public let children: [ProfileNode]
    /// For a sliced element: its slices, in definition order.
    public let slices: [ProfileNode]
    /// The `targetProfile`s of the node's `Reference` type; empty when it has none (asked of every
    /// instance element, so found once).
    let referenceTargets: [String]
    /// Each invariant with how it is checked; a key only once (the first), as a snapshot may repeat one.
    let invariants: [CompiledInvariant]
    /// Index into ``children`` by name; choice children (`value[x]`) by their stem, tried in order.
    private let childIndexByName: [String: Int]
    private let choiceChildIndexes: [Int]
    /// Nothing to check on an instance without children: no choice of types, no fixed or pattern value,
    /// no binding that is checked, no invariant, no reference targets. Most leaves of a resource (every
    /// `system`, `value`, `display` of a plain type) are such; the walk passes them by.
    let isUnconstrainedLeaf: Bool
    /// The children that report something even with no instance: a minimum above zero, or a slice with
    /// one. The others need looking at only when the element has instances of them.
    let requiredChildIndexes: [Int]

    /// `usesNativeInvariants`: false evaluates every invariant as FHIRPath (tests compare both ways).
    init(constraint: ElementConstraint, children: [ProfileNode], slices: [ProfileNode], usesNativeInvariants: Bool = true) {
        self.constraint = constraint
        name = String(constraint.name)
        expressionName = String(constraint.expressionName)
        isChoice = constraint.isChoice
        self.children = children
        self.slices = slices
        referenceTargets = constraint.types.first { $0.code == "Reference" }?.targetProfiles ?? []
        var keys: Set<String> = []
        invariants = constraint.invariants.compactMap { invariant -> CompiledInvariant? in
            // `ele-1` and `ext-1` hold for every element the codecs accept or are checked natively.
            // Best-practice recommendations are not conformance rules; the HL7 validator only hints at them.
            guard !Self.skippedInvariants.contains(invariant.key), !invariant.isBestPractice, keys.insert(invariant.key).inserted else {
                return nil
            }
            guard let text = invariant.expression else {
                return CompiledInvariant(invariant, .unusable(FHIRPathError("the invariant has no FHIRPath expression")))
            }
            do throws(FHIRPathError) {
                let expression = try FHIRPathParser.parse(text)
                if usesNativeInvariants, let native = NativeInvariants.check(for: invariant) {
                    return CompiledInvariant(invariant, .native(native, expression))
                }
                return CompiledInvariant(invariant, .fhirPath(FHIRPathProgram(expression)))
            } catch {
                return CompiledInvariant(invariant, .unusable(error))
            }
        }
        isUnconstrainedLeaf = !isChoice && constraint.fixed == nil && constraint.pattern == nil && constraint.binding?.isChecked != true
            && invariants.isEmpty && referenceTargets.isEmpty
        var byName: [String: Int] = [:]
        for (index, child) in children.enumerated() { byName[child.name] = index }
        childIndexByName = byName
        choiceChildIndexes = children.indices.filter { children[$0].isChoice }
        requiredChildIndexes = children.indices.filter { index in
            children[index].constraint.min > 0 || children[index].slices.contains { $0.constraint.min > 0 }
        }
    }

    /// Invariants the validator checks in code: `ele-1` (a value or children; the codecs refuse empty
    /// elements) and `ext-1` (an extension has a value or sub-extensions, not both).
    static let skippedInvariants: Set<String> = ["ele-1", "ext-1"]

    /// The child defining an instance element named `name` (`valueQuantity` finds `value[x]`).
    func child(named name: String) -> ProfileNode? {
        childIndex(named: name).map { children[$0] }
    }

    /// The index in ``children`` of the child defining an instance element named `name`.
    func childIndex(named name: String) -> Int? {
        if let index = childIndexByName[name] { return index }
        return choiceChildIndexes.first { name.hasPrefix(children[$0].expressionName) }
    }

    /// The node with this element id in the tree below (for `contentReference`).
    func node(withID id: String) -> ProfileNode? {
        if constraint.id == id { return self }
        guard id.hasPrefix(constraint.id) else { return nil }
        for child in children + slices {
            if let found = child.node(withID: id) { return found }
        }
        return nil
    }

    /// Builds the tree of a snapshot (parents before children, slices after the element they slice).
    static func tree(of snapshot: [ElementConstraint], usesNativeInvariants: Bool = true) -> ProfileNode? {
        final class Draft {
            let constraint: ElementConstraint
            var children: [Draft] = []
            var slices: [Draft] = []
            init(_ constraint: ElementConstraint) { self.constraint = constraint }
            func build(usesNativeInvariants: Bool) -> ProfileNode {
                ProfileNode(constraint: constraint, children: children.map { $0.build(usesNativeInvariants: usesNativeInvariants) },
                            slices: slices.map { $0.build(usesNativeInvariants: usesNativeInvariants) }, usesNativeInvariants: usesNativeInvariants)
            }
        }
        guard let first = snapshot.first else { return nil }
        let root = Draft(first)
        var byID = [first.id: root]
        for element in snapshot.dropFirst() {
            guard let dot = element.id.lastIndex(of: ".") else { continue }
            let parentID = String(element.id[..<dot])
            let segment = element.id[element.id.index(after: dot)...]
            let draft = Draft(element)
            byID[element.id] = draft
            if let colon = segment.firstIndex(of: ":") {
                byID[parentID + "." + segment[..<colon]]?.slices.append(draft)
            } else {
                byID[parentID]?.children.append(draft)
            }
        }
        return root.build(usesNativeInvariants: usesNativeInvariants)
    }
}
