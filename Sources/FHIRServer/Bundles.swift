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
        // All MedicationDispenses first, then all Medications, as the production service orders
        // them (fd-parity.md §5).
        for dispensation in dispensations {
            let mdID = dispensation.medicationDispense.value(of: "id") ?? ""
            children.append(.entry(fullURL: "\(baseURL)/MedicationDispense/\(mdID)", resource: dispensation.medicationDispense, searchMode: "match"))
        }
        for medication in dispensations.compactMap(\.medication) {
            children.append(.entry(fullURL: "urn:uuid:\(medication.value(of: "id") ?? "")", resource: medication, searchMode: "include"))
        }
        return .complex("Bundle", children)
    }

    /// A `searchset` of whole matches (`GET /Task`, `GET /AuditEvent`, `GET /Consent`), each under
    /// its own URL; `total` defaults to the number of matches given.
    static func matches(_ resources: [Element], baseURL: String, id: String, total: Int? = nil,
                        links: [(relation: String, url: String)] = []) -> Element {
        var children: [Element?] = [.primitive("id", id), .primitive("type", "searchset"), .primitive("total", String(total ?? resources.count))]
        for link in links {
            children.append(.complex("link", [.primitive("relation", link.relation), .primitive("url", link.url)]))
        }
        for resource in resources {
            children.append(.entry(fullURL: "\(baseURL)/\(resource.name)/\(resource.value(of: "id") ?? "")", resource: resource, searchMode: "match"))
        }
        return .complex("Bundle", children)
    }

    /// What `$accept` answers: the task with its Secret, and the prescription as a Binary under
    /// the `urn:uuid:` the Task's input names (fd-parity.md §2.2).
    static func accepted(_ task: PrescriptionTask, baseURL: String, id: String, now: Date) -> Element {
        prescriptionCollection(task, baseURL: baseURL, id: id, now: now, selfLink: "\(baseURL)/Task/\(task.id.rawValue)/$accept/")
    }

    /// The Task (with its Secret, without the AccessCode) and the prescription Binary: `$accept` and
    /// a pharmacy's `GET /Task/{id}?ac=` (A_24179-01).
    static func prescriptionCollection(_ task: PrescriptionTask, baseURL: String, id: String, now: Date, selfLink: String) -> Element {
        var children: [Element?] = [
            .primitive("id", id),
            .complex("link", [.primitive("relation", "self"), .primitive("url", selfLink)]),
            .primitive("type", "collection"),
            .primitive("timestamp", FHIRInstant.format(now)),
            .entry(fullURL: "\(baseURL)/Task/\(task.id.rawValue)", resource: TaskResource.element(task, visible: [.secret])),
        ]
        if let binary = prescriptionBinary(task) {
            children.append(.entry(fullURL: TaskDocuments.urn(.prescription, of: task.id), resource: binary))
        }
        return .complex("Bundle", children)
    }

    /// The prescription as a `GEM_ERP_PR_Binary` (`application/pkcs7-mime`): the CMS stored at
    /// `$activate`, byte for byte — the prescriber's as uploaded, so the pharmacy verifies the QES
    /// itself, or the development signer's around a bundle admitted with `--accept-unsigned`. A task
    /// activated before erx kept a CMS for unsigned bundles gets one made now by this process's
    /// development signer.
    static func prescriptionBinary(_ task: PrescriptionTask) -> Element? {
        guard let prescription = task.prescription else { return nil }
        let cms: [UInt8]
        if let signed = task.signedPrescription {
            cms = signed
        } else {
            guard let bytes = try? WireFormat.xml.fhirFormat.write(prescription),
                  let signed = try? DevelopmentSigner.processIdentity.sign(bytes, signingTime: task.lastModified)
            else { return nil }
            cms = signed
        }
        return .complex("Binary", [
            .primitive("id", TaskDocuments.uuid(.prescription, of: task.id)),
            .meta(profile: "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Binary|1.6"),
            .primitive("contentType", "application/pkcs7-mime"),
            .primitive("data", Data(cms).base64EncodedString()),
        ])
    }
}
