public import Dispensing
public import FHIRModel
import Foundation

/// Renders a stored task as a `GEM_ERP_PR_Task` resource. Which credentials appear depends on who
/// asks: the prescriber and the insurant see the AccessCode, the accepting pharmacy the Secret.
public struct TaskResource: Sendable {
    public struct Visible: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let accessCode = Visible(rawValue: 1)
        public static let secret = Visible(rawValue: 2)
    }

    public static let profile = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Task|1.6"
    static let extensionBase = "https://gematik.de/fhir/erp/StructureDefinition/"
    static let documentType = "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_DocumentType"
    /// `Task.performerType` is bound (required) to `GEM_ERP_VS_OrganizationType`, whose codes are
    /// the profession OIDs as URNs in this code system.
    static let organizationType = "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_OrganizationType"

    public static func element(_ task: PrescriptionTask, visible: Visible) -> Element {
        var extensions: [Element] = [
            .extension(url: extensionBase + "GEM_ERP_EX_PrescriptionType", .coding(
                "valueCoding", system: Systems.flowType, code: String(task.flowType.rawValue), display: task.flowType.display
            )),
        ]
        if let expiry = task.expiryDate { extensions.append(.extension(url: extensionBase + "GEM_ERP_EX_ExpiryDate", .primitive("valueDate", expiry))) }
        if let accept = task.acceptDate { extensions.append(.extension(url: extensionBase + "GEM_ERP_EX_AcceptDate", .primitive("valueDate", accept))) }
        if let last = task.lastMedicationDispense {
            extensions.append(.extension(url: extensionBase + "GEM_ERP_EX_LastMedicationDispense", .primitive("valueInstant", FHIRInstant.format(last))))
        }
        var identifiers: [Element] = [.identifier(system: Systems.prescriptionID, value: task.id.rawValue, use: "official")]
        if visible.contains(.accessCode), let code = task.accessCode {
            identifiers.append(.identifier(system: Systems.accessCode, value: code.rawValue, use: "official"))
        }
        if visible.contains(.secret), let secret = task.secret {
            identifiers.append(.identifier(system: Systems.secret, value: secret.rawValue, use: "official"))
        }
        let performer: (code: String, display: String) = task.flowType == .diga
            ? ("urn:oid:1.2.276.0.76.4.59", "Kostenträger") : ("urn:oid:1.2.276.0.76.4.54", "Öffentliche Apotheke")
        var children: [Element?] = [
            .primitive("id", task.id.rawValue),
            .meta(profile: profile, lastUpdated: task.lastModified),
        ]
        children += extensions
        children += identifiers
        children += [
            .primitive("status", task.status.rawValue),
            .primitive("intent", "order"),
            task.kvnr.map { .complex("for", [.identifier(system: Systems.kvnr, value: $0.rawValue)]) },
            .primitive("authoredOn", FHIRInstant.format(task.createdAt)),
            .primitive("lastModified", FHIRInstant.format(task.lastModified)),
            .complex("performerType", [
                .coding(system: organizationType, code: performer.code, display: performer.display),
                .primitive("text", performer.display),
            ]),
            task.owner.map { .complex("owner", [.identifier(system: Systems.telematikID, value: $0.rawValue)]) },
        ]
        // Both inputs from `$activate` on, as the production service sets them: the prescription
        // (what a pharmacy gets) and the insurant's copy of it; the receipt once closed.
        if task.prescription != nil {
            children.append(document(.prescription, of: task.id, as: "input"))
            children.append(document(.patientConfirmation, of: task.id, as: "input"))
        }
        if task.receipt != nil {
            children.append(document(.receipt, of: task.id, as: "output"))
        }
        return .complex("Task", children)
    }

    /// A `Task.input`/`output` naming one of the task's documents by its `urn:uuid:` (the fullUrl
    /// it has in every Bundle that carries it).
    static func document(_ kind: TaskDocuments.Kind, of id: PrescriptionID, as name: String) -> Element {
        let type = kind.documentType ?? ("", "")
        return .complex(name, [
            .complex("type", [.coding(system: documentType, code: type.code, display: type.display)]),
            .reference("valueReference", TaskDocuments.urn(kind, of: id)),
        ])
    }
}
