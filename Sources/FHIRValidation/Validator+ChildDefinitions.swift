import FHIRModel
import FHIRPath

extension ProfileValidator {
    /// What defines an element's children when its node does not list them.
    enum ChildDefinitions {
        /// A node of the core definition a content reference names: the scope stays.
        case node(ProfileNode)
        /// The type's profiles, or else its core definition; the element must meet one of them.
        case profiles([CompiledProfile])
    }

    /// The definitions of `element`'s children when `node` does not list them: a content reference,
    /// the type's profiles, or else the core definition of the type. The answer for a node and type
    /// is cached, as the profiles themselves, so the common case allocates nothing.
    func typeDefinitions(for node: ProfileNode, type: FHIRPathItem.NodeType, scope: Scope, path: ElementPath,
                                 run: inout Run) -> ChildDefinitions {
        if let reference = node.constraint.contentReference, let hash = reference.firstIndex(of: "#") {
            // The unconstrained definition, as in ``SnapshotGenerator``: a profile's constraints on
            // the referenced element are not about the referring one.
            let id = String(reference[reference.index(after: hash)...])
            let core = try? profiles.profile(SnapshotGenerator.coreURL(String(id.prefix { $0 != "." })))
            return (core ?? nil)?.root.node(withID: id).map { .node($0) } ?? .profiles([])
        }
        let context = scope.context(run)
        let cacheKey = CompiledProfiles.TypeKey(node: ObjectIdentifier(node), type: type.index ?? -1, context: ObjectIdentifier(context))
        if let cached = profiles.cachedTypeProfiles(cacheKey) { return .profiles(cached) }
        let typeName = definitions.name(of: type)
        let declared = node.constraint.types.first { $0.code == typeName } ?? (node.constraint.types.count == 1 ? node.constraint.types[0] : nil)
        var result: [CompiledProfile] = []
        var resolvedAll = true
        let profiled = declared?.profiles ?? []
        for canonical in profiled.isEmpty ? [SnapshotGenerator.coreURL(typeName)] : profiled {
            do {
                if let profile = try profiles.profile(canonical, in: context) {
                    result.append(profile)
                } else {
                    resolvedAll = false
                    run.addOnce("profile \(canonical)", .notFound, "Type profile \(canonical) could not be resolved", at: path)
                }
            } catch {
                resolvedAll = false
                run.addOnce("profile \(canonical)", .notSupported, "Profile \(canonical) cannot be used: \(error.description)", at: path)
            }
        }
        if result.isEmpty, !profiled.isEmpty, let core = try? profiles.profile(SnapshotGenerator.coreURL(typeName)) {
            result.append(core)
        }
        // Only complete answers are kept: an unresolvable profile must be reported by every validation.
        if resolvedAll { profiles.cacheTypeProfiles(cacheKey, result) }
        return .profiles(result)
    }
}
