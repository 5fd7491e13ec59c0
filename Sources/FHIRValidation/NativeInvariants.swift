import FHIRFormats
import FHIRModel
import FHIRPath

/// Swift versions of the invariants that every validation meets many times: R4 core ones met on each
/// resource, Reference, Quantity or parameter, and those of the dispensing profiles met on every
/// `$dispense` body. One applies only where the definition carries exactly the expression it replaces,
/// so a profile that words the invariant differently is still evaluated as FHIRPath.
///
/// A check answers whether the invariant holds, with the HL7 engine's semantics, or `nil` for a shape it
/// leaves to the FHIRPath engine (several items where one is expected, a value missing): there the
/// engine's answer, or its error, is the one reported. The shapes a valid body has never need it.
///
/// The checks read children by name, as trees from the JSON and XML readers have them: only elements
/// the parent's type defines, under their FHIR names. A tree built in code with names its type does not
/// define (a `code` in a Patient) can get another answer than the engine, which only sees defined ones.
enum NativeInvariants {
    /// `(focus, %rootResource) -> holds`, or `nil`: evaluate the FHIRPath.
    typealias Check = @Sendable (Element, Element) -> Bool?

    static func check(for invariant: ElementConstraint.Invariant) -> Check? {
        guard let expression = invariant.expression, let entry = byKey[invariant.key], entry.expression == expression else {
            return nil
        }
        return entry.check
    }

    private static let byKey: [String: (expression: String, check: Check)] = core.merging(dispensing) { first, _ in first }

    private static let core: [String: (expression: String, check: Check)] = [
        "dom-2": ("contained.contained.empty()", { focus, _ in
            !focus.children.contains { $0.name == "contained" && $0.wrappedResource?.child("contained") != nil }
        }),
        // Only a resource without contained resources is answered here (all of them meet it); the others
        // go to the engine, which looks for the references to each.
        "dom-3": ("contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | "
            + "%resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or "
            + "descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not())"
            + ".trace('unmatched', id).empty()", { focus, _ in
                focus.child("contained") == nil ? true : nil
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
        "rat-1": ("(numerator.empty() xor denominator.exists()) and (numerator.exists() or extension.exists())", { focus, _ in
            let hasNumerator = focus.child("numerator") != nil
            return hasNumerator == (focus.child("denominator") != nil) && (hasNumerator || focus.child("extension") != nil)
        }),
        // The narrative rules, whose FHIRPath `htmlChecks()` no engine defines: the HL7 validator checks
        // them natively, and so does this one (``NarrativeRules``). `nil`: no div text to check.
        "txt-1": ("htmlChecks()", { focus, _ in
            focus.value.map { NarrativeRules.check($0).problems.isEmpty }
        }),
        "txt-2": ("htmlChecks()", { focus, _ in
            focus.value.map { NarrativeRules.check($0).hasContent }
        }),
        "mdd-1": ("whenHandedOver.empty() or whenPrepared.empty() or whenHandedOver >= whenPrepared", { focus, _ in
            guard let handedOver = single(focus, "whenHandedOver"), let prepared = single(focus, "whenPrepared") else {
                return focus.child("whenHandedOver") == nil || focus.child("whenPrepared") == nil ? true : nil
            }
            guard let later = handedOver.value, let earlier = prepared.value else { return nil }
            return FHIRPathEvaluator.compareDates(later, earlier).map { $0 >= 0 }
        }),
    ]

    static func contained(_ element: Element) -> [Element] {
        element.children.compactMap { $0.name == "contained" ? $0.wrappedResource : nil }
    }

    /// The only child named `name`; `nil` when there is none or more than one.
    static func single(_ element: Element, _ name: String) -> Element? {
        var found: Element?
        for child in element.children where child.name == name {
            guard found == nil else { return nil }
            found = child
        }
        return found
    }
}
