import FHIRModel

/// Swift versions of the R4 core invariants that every validation meets many times (each resource, each
/// Reference, each Quantity, each parameter). One applies only where the definition carries exactly the
/// R4 expression it replaces, so a profile that words the invariant differently is still evaluated as
/// FHIRPath. Each returns whether the invariant holds, with the HL7 engine's semantics.
enum NativeInvariants {
    /// `(focus, %rootResource) -> holds`.
    typealias Check = @Sendable (Element, Element) -> Bool

    static func check(for invariant: ElementConstraint.Invariant) -> Check? {
        guard let expression = invariant.expression, let entry = byKey[invariant.key], entry.expression == expression else {
            return nil
        }
        return entry.check
    }

    private static let byKey: [String: (expression: String, check: Check)] = [
        "dom-2": ("contained.contained.empty()", { focus, _ in
            !focus.children.contains { $0.name == "contained" && $0.wrappedResource?.child("contained") != nil }
        }),
        "dom-4": ("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", { focus, _ in
            !contained(focus).contains { $0.descendant("meta", "versionId") != nil || $0.descendant("meta", "lastUpdated") != nil }
        }),
        "dom-5": ("contained.meta.security.empty()", { focus, _ in
            !contained(focus).contains { $0.descendant("meta", "security") != nil }
        }),
        "qty-3": ("code.empty() or system.exists()", { focus, _ in
            focus.child("code") == nil || focus.child("system") != nil
        }),
        "inv-1": ("(part.exists() and value.empty() and resource.empty()) or (part.empty() and (value.exists() xor resource.exists()))",
                  { focus, _ in
                      let hasPart = focus.child("part") != nil
                      let hasValue = focus.children.contains { $0.name.hasPrefix("value") }
                      let hasResource = focus.child("resource") != nil
                      return hasPart ? !hasValue && !hasResource : hasValue != hasResource
                  }),
        // `reference` that starts with `#` must name a contained resource of %rootResource; the HL7 engine's
        // `in` holds for an empty left side, so a reference without `reference`, or `#` alone, passes.
        "ref-1": ("reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))",
                  { focus, rootResource in
                      guard let reference = focus.value(of: "reference"), reference.hasPrefix("#") else { return true }
                      // `#` alone (a contained resource pointing at its container): `substring(1)` is empty.
                      let id = String(reference.dropFirst())
                      guard !id.isEmpty else { return true }
                      return contained(rootResource).contains { $0.value(of: "id") == id }
                  }),
    ]

    private static func contained(_ element: Element) -> [Element] {
        element.children.compactMap { $0.name == "contained" ? $0.wrappedResource : nil }
    }
}
