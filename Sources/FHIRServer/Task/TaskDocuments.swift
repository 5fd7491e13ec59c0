import Crypto
public import Dispensing
import Foundation

/// The ids of the documents that belong to a task: the prescription (`Task.input` of
/// DocumentType 1), the insurant's copy of it (DocumentType 2) and the receipt (DocumentType 3).
///
/// Each is a stable UUID derived from the PrescriptionID, as the production service derives them
/// (fd-parity.md §2.2), so `$accept`, the `?ac` re-fetch, the insurant's read, `$close` and the
/// Task's own references all name one document by one id, and a Bundle's `urn:uuid:` fullUrl and
/// the references to it agree without storing anything.
public enum TaskDocuments {
    public enum Kind: String, Sendable, CaseIterable {
        case prescription
        case patientConfirmation = "patient-confirmation"
        case receipt
        /// The digest Binary inside the receipt.
        case prescriptionDigest = "prescription-digest"

        /// The `GEM_ERP_CS_DocumentType` code of the Task input or output naming it.
        var documentType: (code: String, display: String)? {
            switch self {
            case .prescription: ("1", "Health Care Provider Prescription")
            case .patientConfirmation: ("2", "Patient Confirmation")
            case .receipt: ("3", "Receipt")
            case .prescriptionDigest: nil
            }
        }
    }

    /// The document's UUID (lowercase, version 5 layout over SHA-256 of its kind and task).
    public static func uuid(_ kind: Kind, of id: PrescriptionID) -> String {
        nameBasedUUID("\(kind.rawValue):\(id.rawValue)")
    }

    /// `urn:uuid:<uuid>`: the fullUrl of the document in a Bundle, and the reference to it.
    public static func urn(_ kind: Kind, of id: PrescriptionID) -> String {
        "urn:uuid:" + uuid(kind, of: id)
    }

    /// A UUID that is the same for the same name (within `namespace`), and looks random otherwise.
    static func nameBasedUUID(_ name: String, namespace: String = "erx-document:") -> String {
        var bytes = Array(SHA256.hash(data: Data((namespace + name).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Array(bytes.map { String(format: "%02x", $0) }.joined())
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(hex[$0]) }.joined(separator: "-")
    }
}
