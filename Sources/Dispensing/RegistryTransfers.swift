public import FHIRModel
public import Foundation

/// One message the national registry must receive (ARCHITECTURE decision 6), written to the outbox
/// in the same transaction as the change it reports and sent later by the relay.
public struct RegistryTransfer: Sendable, Hashable {
    /// The ePA medication service operations (dispense-spec.md §5.2), by their names in the URL.
    public enum Operation: String, Sendable, Hashable, CaseIterable {
        case providePrescription = "provide-prescription-erp"
        case cancelPrescription = "cancel-prescription-erp"
        case provideDispensation = "provide-dispensation-erp"
        case cancelDispensation = "cancel-dispensation-erp"
    }

    public var operation: Operation
    public var kvnr: KVNR
    public var prescriptionID: PrescriptionID
    /// `in-progress` (`$dispense`) or `completed` (`$close`) for a provided dispensation, else `nil`.
    public var status: TaskStatus?
    /// Sent as `Idempotency-Key`: a retried transfer is recognised by the registry, so a transfer
    /// whose answer was lost (timeout, crash before the outbox row was settled) is applied once.
    public var idempotencyKey: String
    /// The operation's input `Parameters`.
    public var payload: Element

    public init(operation: Operation, kvnr: KVNR, prescriptionID: PrescriptionID, status: TaskStatus?, idempotencyKey: String, payload: Element) {
        self.operation = operation
        self.kvnr = kvnr
        self.prescriptionID = prescriptionID
        self.status = status
        self.idempotencyKey = idempotencyKey
        self.payload = payload
    }
}

/// Which change the registry must learn, and in which shape (dispense-spec.md §5.2, A_25952–A_25955).
///
/// Pure: it reads the task before and after the change and, for `$close` without a body, the stored
/// set (read lazily, inside the same transaction).
public enum RegistryTransfers {
    public static func transfer(
        for change: TaskChange, before: PrescriptionTask, storedDispensations: () throws -> [Dispensation], ids: some IDGenerator
    ) throws -> RegistryTransfer? {
        let task = change.task
        guard task.id.flowType.isTransferredToRegistry, let kvnr = task.kvnr ?? before.kvnr else { return nil }
        func make(_ operation: RegistryTransfer.Operation, status: TaskStatus? = nil, _ payload: Element) -> RegistryTransfer {
            RegistryTransfer(operation: operation, kvnr: kvnr, prescriptionID: task.id, status: status, idempotencyKey: ids.sortableUUID(), payload: payload)
        }
        let authoredOn = task.authoredOn ?? before.authoredOn
        switch change.audit.action {
        case .activate:
            return make(.providePrescription, EpaPayload.providePrescription(task, kvnr: kvnr, bundle: task.prescription,
                                                                            prescriber: change.audit.agentID))
        case .dispense, .close:
            let set: [Dispensation]
            switch change.dispensations {
            case .replace(let stored): set = stored
            case .keep: set = try storedDispensations()
            case .delete: return nil
            }
            // A_25933: a `$dispense` that stores what is stored already tells the registry nothing.
            if change.audit.action == .dispense, case .replace = change.dispensations, before.lastMedicationDispense != nil,
               Dispensation.sameContent(set, try storedDispensations()) {
                return nil
            }
            let status: TaskStatus = change.audit.action == .close ? .completed : .inProgress
            return make(.provideDispensation, status: status,
                        EpaPayload.provideDispensation(task.id, authoredOn: authoredOn, status: status, set: set, pharmacy: task.owner,
                                                       pharmacyName: change.audit.agentName))
        case .reject:
            // Only a stored dispensation has anything to cancel (A_25955).
            guard before.lastMedicationDispense != nil else { return nil }
            return make(.cancelDispensation, EpaPayload.cancel("rxDispensation", task.id, authoredOn: authoredOn))
        case .abort:
            // A prescription the registry holds as open: ready, or in progress at a pharmacy (A_25953).
            guard before.status == .ready || before.status == .inProgress else { return nil }
            return make(.cancelPrescription, EpaPayload.cancel("rxPrescription", task.id, authoredOn: authoredOn))
        case .create, .accept, .read, .readDispensations, .egkList, .egkListFailed, .egkListOffline, .egkListOfflineRefused,
             .poppListHealthID, .poppListPractitionerCard, .poppListProviderCard, .poppListOther,
             .registryProvidePrescription, .registryCancelPrescription,
             .registryProvideDispensation, .registryCancelDispensation:
            return nil
        }
    }
}

/// The ePA `*-erp` input Parameters (`epa-op-*-erp-input-parameters`, fd-parity §9.1; checked
/// against the 1.3 profiles by `RegistryPayloadConformanceTests`). The dispensation's resources are
/// passed through with the ePA profiles and `Medication/<id>` references, as the production exporter
/// does (dispense-spec.md §5.4); the prescription's are mapped by ``EpaPrescriptionMapping``.
/// `status` is an `rxDispensation` part the 1.3 profiles do not slice (their part slicing is open,
/// A_25954-01, fd-parity §9.2), so a registry (and the simulator) learns whether the dispensation is
/// still in progress or completed.
enum EpaPayload {
    static let profileBase = "https://gematik.de/fhir/epa-medication/StructureDefinition/"

    static func provideDispensation(
        _ id: PrescriptionID, authoredOn: String?, status: TaskStatus, set: [Dispensation], pharmacy: TelematikID?, pharmacyName: String? = nil
    ) -> Element {
        var parts = header(id, authoredOn: authoredOn)
        parts.append(Element(name: "part", children: [Element(name: "name", value: "status"), Element(name: "valueCode", value: status.rawValue)]))
        for dispensation in set {
            var md = dispensation.medicationDispense.settingProfile(profileBase + "epa-medication-dispense")
            if let reference = md.descendant("medicationReference", "reference")?.value, reference.hasPrefix("urn:uuid:") {
                md = md.settingMedicationReference("Medication/" + reference.dropFirst("urn:uuid:".count))
            }
            parts.append(resourcePart("medicationDispense", md))
        }
        for medication in set.compactMap(\.medication) {
            parts.append(resourcePart("medication", medication.settingProfile(profileBase + "epa-medication")))
        }
        if let pharmacy {
            parts.append(resourcePart("organization", EpaPrescriptionMapping.pharmacy(pharmacy, name: pharmacyName)))
        }
        return parameters("provide-dispensation-erp", [Element(name: "parameter", children: [Element(name: "name", value: "rxDispensation")] + parts)])
    }

    /// `$provide-prescription-erp`: the prescription's MedicationRequest, Medication, Organization and
    /// Practitioner from the KBV bundle, mapped to the ePA profiles (``EpaPrescriptionMapping``);
    /// `prescriber` is the Telematik-ID of the caller of `$activate`.
    static func providePrescription(_ task: PrescriptionTask, kvnr: KVNR, bundle: Element?, prescriber: String?) -> Element {
        var parts = header(task.id, authoredOn: task.authoredOn)
        let resources = (bundle?.children(named: "entry") ?? []).compactMap { $0.child("resource")?.wrappedResource }
        let medication = resources.first { $0.name == "Medication" }
        if let request = resources.first(where: { $0.name == "MedicationRequest" }) {
            parts.append(resourcePart("medicationRequest", EpaPrescriptionMapping.medicationRequest(request, kvnr: kvnr, medication: medication)))
        }
        if let medication { parts.append(resourcePart("medication", EpaPrescriptionMapping.medication(medication))) }
        if let organization = resources.first(where: { $0.name == "Organization" }) {
            parts.append(resourcePart("organization", EpaPrescriptionMapping.organization(organization, telematikID: prescriber)))
        }
        if let practitioner = resources.first(where: { $0.name == "Practitioner" }) {
            parts.append(resourcePart("practitioner", EpaPrescriptionMapping.practitioner(practitioner)))
        }
        return parameters("provide-prescription-erp", [Element(name: "parameter", children: [Element(name: "name", value: "rxPrescription")] + parts)])
    }

    static func cancel(_ parameter: String, _ id: PrescriptionID, authoredOn: String?) -> Element {
        let operation = parameter == "rxPrescription" ? "cancel-prescription-erp" : "cancel-dispensation-erp"
        return parameters(operation, [Element(name: "parameter", children: [Element(name: "name", value: parameter)] + header(id, authoredOn: authoredOn))])
    }

    private static func header(_ id: PrescriptionID, authoredOn: String?) -> [Element] {
        var parts = [Element(name: "part", children: [
            Element(name: "name", value: "prescriptionId"),
            Element(name: "valueIdentifier", children: [
                Element(name: "system", value: Systems.prescriptionID), Element(name: "value", value: id.rawValue),
            ]),
        ])]
        if let authoredOn {
            parts.append(Element(name: "part", children: [Element(name: "name", value: "authoredOn"), Element(name: "valueDate", value: authoredOn)]))
        }
        return parts
    }

    private static func resourcePart(_ name: String, _ resource: Element) -> Element {
        Element(name: "part", children: [Element(name: "name", value: name), Element(name: "resource", children: [resource])])
    }

    private static func parameters(_ operation: String, _ parameters: [Element]) -> Element {
        Element(name: "Parameters", children: [
            Element(name: "meta", children: [Element(name: "profile", value: profileBase + "epa-op-\(operation)-input-parameters")]),
        ] + parameters)
    }
}

extension Element {
    /// The resource with `meta.profile` replaced by `profile` (other `meta` children kept).
    func settingProfile(_ profile: String) -> Element {
        var copy = self
        let newProfile = Element(name: "profile", value: profile)
        if let index = copy.children.firstIndex(where: { $0.name == "meta" }) {
            var meta = copy.children[index]
            meta.children.removeAll { $0.name == "profile" }
            meta.children.append(newProfile)
            copy.children[index] = meta
        } else {
            let position = copy.children.firstIndex { $0.name != "id" } ?? copy.children.endIndex
            copy.children.insert(Element(name: "meta", children: [newProfile]), at: position)
        }
        return copy
    }
}
