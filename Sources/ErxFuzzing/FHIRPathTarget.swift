import FHIRFormats
import FHIRModel
import FHIRPath

/// The FHIRPath parser on arbitrary text, and the evaluator on whatever parses, against one fixed
/// MedicationDispense. Errors are fine; a crash or a hang is not. (Expressions come from profiles, not
/// from requests, so this guards the profile loader and the invariants we write.)
enum FHIRPathTarget {
    /// A small resource with primitives of several types, repeats, an extension and a choice element.
    static let resource: Element = {
        let json = #"""
        {"resourceType": "MedicationDispense", "id": "160.000.100.000.001.05",
         "meta": {"profile": ["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.4"]},
         "extension": [{"url": "https://example.org/flag", "valueBoolean": true}],
         "identifier": [{"system": "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId", "value": "160.000.100.000.001.05"}],
         "status": "completed",
         "medicationReference": {"reference": "urn:uuid:a5b1c2d3-0000-4000-8000-000000000001"},
         "subject": {"identifier": {"system": "http://fhir.de/sid/gkv/kvid-10", "value": "X110411675"}},
         "quantity": {"value": 1.50, "system": "http://unitsofmeasure.org", "code": "{Package}"},
         "whenPrepared": "2025-01-14", "whenHandedOver": "2025-01-15T10:00:00+01:00",
         "dosageInstruction": [{"sequence": 1, "text": "1-0-1-0"}, {"sequence": 2, "doseAndRate": [{"doseQuantity": {"value": 0.5}}]}]}
        """#
        return try! FHIRFormat.json.read(Array(json.utf8)).resource
    }()

    static func run(_ bytes: [UInt8]) {
        // Profiles hold valid UTF-8; other bytes would only test the decoder's replacement characters.
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        guard let expression = try? FHIRPathParser.parse(text) else { return }
        _ = try? FHIRPathEvaluator().evaluate(expression, on: resource)
    }
}
