import FHIRModel

extension NativeInvariants {
    /// The invariants of the gematik and KBV dispensing profiles that every `$dispense` body meets: each
    /// KVNR, each date handed over, and the reference from each dispensation to its Medication.
    static let dispensing: [String: (expression: String, check: Check)] = [
        // Only a value certainly matching is answered here; anything else (where the engine's `$` would
        // also accept a final line break) goes to the engine.
        "kvid-1": ("matches('^[A-Z][0-9]{9}$')", { focus, _ in
            guard let value = focus.value, isKVNR(value) else { return nil }
            return true
        }),
        // `toString()` of a value-less element is empty, and so is the comparison: the invariant fails.
        "workflow-abgabeDatumsFormat": ("toString().length()=10", { focus, _ in
            focus.value.map { $0.count == 10 } ?? false
        }),
        "epa-med-1": ("code.exists() or ingredient.exists()", { focus, _ in
            focus.child("code") != nil || focus.child("ingredient") != nil
        }),
        "workflow-dosageExtensionBeiDosierung": (
            "dosageInstruction.exists() implies extension.where(url = "
                + "'http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationDispense.renderedDosageInstruction').exists() and "
                + "extension.where(url = 'http://ig.fhir.de/igs/medication/StructureDefinition/GeneratedDosageInstructionsMeta').exists()",
            { focus, _ in
                guard focus.child("dosageInstruction") != nil else { return true }
                // An extension without its one `url` compares as the engine decides (none or several: not kept).
                var rendered = false, generated = false
                for child in focus.children where child.name == "extension" {
                    guard let url = single(child, "url") else { return nil }
                    switch url.value {
                    case "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationDispense.renderedDosageInstruction": rendered = true
                    case "http://ig.fhir.de/igs/medication/StructureDefinition/GeneratedDosageInstructionsMeta": generated = true
                    default: continue
                    }
                }
                return rendered && generated
            }
        ),
        "workflow-parameters-close-dispense-medication-references": (
            "part.where(name = 'medicationDispense').resource.medication.ofType(Reference).reference.exists() implies "
                + "((part.where(name = 'medicationDispense').resource.medication.reference.split('/').last().split(':').last()) "
                + "= (part.where(name = 'medication').resource.id))",
            { focus, _ in medicationReferenceMatches(in: focus) }
        ),
    ]

    /// Ten ASCII bytes: a capital letter, nine digits.
    private static func isKVNR(_ value: String) -> Bool {
        let bytes = value.utf8
        guard bytes.count == 10, let first = bytes.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else {
            return false
        }
        return bytes.dropFirst().allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// The dispensation's `medicationReference`, after its last `/` and `:`, names the `id` of the
    /// Medication travelling in the same parameter. `nil` for what the engine decides: a part with no or
    /// several names or resources, a dispensation part holding another resource type, several references,
    /// or one without a value.
    private static func medicationReferenceMatches(in parameter: Element) -> Bool? {
        var references = 0, ids = 0
        var reference: String?, id: String?
        for part in parameter.children where part.name == "part" {
            guard let name = single(part, "name"), part.children.count(where: { $0.name == "resource" }) <= 1 else { return nil }
            guard let resource = part.child("resource")?.wrappedResource else { continue }
            switch name.value {
            case "medicationDispense":
                guard resource.name == "MedicationDispense" else { return nil }
                for medication in resource.children where medication.name == "medicationReference" {
                    for child in medication.children where child.name == "reference" {
                        references += 1
                        reference = child.value
                    }
                }
            case "medication":
                // The engine's `resource` step keeps only resources of a concrete type.
                guard R4CoreDefinitions.shared.resourceIndex(resource.name) != nil else { return nil }
                for child in resource.children where child.name == "id" {
                    ids += 1
                    id = child.value
                }
            default:
                continue
            }
        }
        guard references > 0 else { return true }
        guard references == 1, let reference else { return nil }
        // A one-item comparison against none, several or a value-less `id` is false, never empty.
        guard ids == 1, let id else { return false }
        return afterLast(UInt8(ascii: ":"), in: afterLast(UInt8(ascii: "/"), in: Substring(reference))) == id
    }

    /// What `split(separator).last()` gives for an ASCII separator (split by bytes, as the engine does):
    /// the text after the last separator, or all of it.
    private static func afterLast(_ separator: UInt8, in text: Substring) -> Substring {
        guard let index = text.utf8.lastIndex(of: separator) else { return text }
        return text[text.utf8.index(after: index)...]
    }
}
