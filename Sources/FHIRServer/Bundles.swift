public import Dispensing
public import FHIRModel
import FHIRFormats
import Foundation

/// The Bundles the server answers with.
enum Bundles {
    /// A `searchset` of MedicationDispenses (`match`) with their Medications (`include`), as
    /// `GET /MedicationDispense` and `$dispense` with `Prefer: return=representation` answer.
    static func searchset(_ dispensations: [Dispensation], total: Int, baseURL: String, links: [(relation: String, url: String)] = [], id: String) -> Element {
        var children: [Element?] = [
            .primitive("id", id),
            .primitive("type", "searchset"),
            .primitive("total", String(total)),
        ]
        for link in links {
            children.append(.complex("link", [.primitive("relation", link.relation), .primitive("url", link.url)]))
        }
        for dispensation in dispensations {
            let mdID = dispensation.medicationDispense.value(of: "id") ?? ""
            children.append(.entry(fullURL: "\(baseURL)/MedicationDispense/\(mdID)", resource: dispensation.medicationDispense, searchMode: "match"))
            if let medication = dispensation.medication {
                children.append(.entry(fullURL: "urn:uuid:\(medication.value(of: "id") ?? "")", resource: medication, searchMode: "include"))
            }
        }
        return .complex("Bundle", children)
    }

    /// A `searchset` of whole matches (`GET /Task`, `GET /Consent`), each under its own URL.
    static func matches(_ resources: [Element], baseURL: String, id: String) -> Element {
        var children: [Element?] = [.primitive("id", id), .primitive("type", "searchset"), .primitive("total", String(resources.count))]
        for resource in resources {
            children.append(.entry(fullURL: "\(baseURL)/\(resource.name)/\(resource.value(of: "id") ?? "")", resource: resource, searchMode: "match"))
        }
        return .complex("Bundle", children)
    }

    /// What `$accept` answers: the task with its Secret, and the prescription as a Binary.
    static func accepted(_ task: PrescriptionTask, baseURL: String, id: String) -> Element {
        var children: [Element?] = [
            .primitive("id", id),
            .primitive("type", "collection"),
            .entry(fullURL: "\(baseURL)/Task/\(task.id.rawValue)", resource: TaskResource.element(task, visible: [.secret])),
        ]
        if let binary = prescriptionBinary(task) {
            children.append(.entry(fullURL: "\(baseURL)/Binary/PrescriptionBundle-\(task.id.rawValue)", resource: binary))
        }
        return .complex("Bundle", children)
    }

    /// The prescription bundle as a Binary (FHIR JSON, base64).
    static func prescriptionBinary(_ task: PrescriptionTask) -> Element? {
        guard let prescription = task.prescription, let bytes = try? WireFormat.json.fhirFormat.write(prescription) else { return nil }
        return .complex("Binary", [
            .primitive("id", "PrescriptionBundle-\(task.id.rawValue)"),
            .primitive("contentType", "application/fhir+json"),
            .primitive("data", Data(bytes).base64EncodedString()),
        ])
    }
}
