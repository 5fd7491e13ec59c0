public import FHIRModel

/// What the production service does with a LANR/ZANR whose check digit is wrong (A_24031): its
/// production configuration answers the activation with status 252 and a `Warning` header
/// (A_24033, IBM `anrChecksumValidationMode: warning`); `error` refuses with 400 (A_24032).
public enum PractitionerNumberPolicy: String, Sendable, CaseIterable {
    case warning, error
}

/// The production service's checks of a KBV prescription's content at `$activate`, after its profile
/// validation, in its order (fd-parity.md §8.2 rows 3–14, §8.3; IBM `KbvBundle::additionalValidation`,
/// then `ActivateTaskHandler`). Each refusal is a ``PrescriptionRefusal`` with the FD's text, because
/// gematik's suite compares the texts.
///
/// A bundle that claims no KBV profile (a development bundle, as suites post them; the server does
/// not validate it either) gets only the PrescriptionID check: the others read KBV structures it lacks.
public enum PrescriptionChecks {
    /// What the checks found that does not refuse the prescription.
    public struct Findings: Sendable, Hashable {
        /// The MVO's redemption end, when the prescription is part of a multiple prescription; with
        /// `isMultiple`, expiry and accept date follow the MVO rules (§8.3).
        public var isMultiple = false
        public var multipleEnd: String?
        /// `KBV_EX_FOR_Legal_basis` of the Composition: `04`/`14` (discharge) change the accept date.
        public var legalBasis: String?
    }

    public static func check(
        _ prescription: PrescriptionBundle, flowType: FlowType, taskID: PrescriptionID,
        practitionerNumbers: PractitionerNumberPolicy = .warning
    ) throws(DispensingError) -> Findings {
        let view = KBVPrescriptionView(prescription.bundle)
        var findings = Findings()
        guard view.claimedBundleProfile != nil else {
            try checkPrescriptionID(prescription, flowType: flowType, taskID: taskID)
            return findings
        }
        if view.isHealthAppPrescription {
            try checkHealthApp(prescription, view: view, flowType: flowType, taskID: taskID, practitionerNumbers: practitionerNumbers)
            return findings
        }
        let medications = view.resources("Medication").map { KBVMedication($0.resource, path: $0.path) }
        try checkPZNs(medications)
        try checkPatientSystem(view)
        try checkIKNRs(view)
        let requests = view.resources("MedicationRequest")
        guard requests.count == 1 else { throw refused("Expected exactly one MedicationRequest in Bundle.", at: "Bundle.entry") }
        if flowType == .tPrescription, let version = view.claimedVersion, version.lexicographicallyPrecedes([1, 4]) {
            throw refused("T-Rezept Workflow 166 not allowed before KBV-1.4", at: "Bundle.meta.profile")
        }
        let compositions = view.resources("Composition")
        guard compositions.count == 1 else {
            throw refused("Expected exactly one Composition in prescription bundle, got: \(compositions.count)", at: "Bundle.entry")
        }
        findings.legalBasis = view.legalBasisCode
        let request = requests[0]
        let mvo = KBVMultiplePrescription(request: request.resource)
        if mvo?.isMultiple == true, flowType == .tPrescription { throw refused("T-Rezept cannot be MVO", at: request.path) }
        if let mvo {
            try MultiplePrescriptionRules.check(mvo, at: request.path + ".extension", flowType: flowType,
                                                legalBasis: view.legalBasisCode, authoredOn: prescription.authoredOn)
            findings.isMultiple = mvo.isMultiple
            findings.multipleEnd = mvo.isMultiple ? mvo.end.flatMap(CalendarDate.datePart(of:)) : nil
        }
        try checkCategories(medications, flowType: flowType)
        try checkPrescriptionID(prescription, flowType: flowType, taskID: taskID)
        try checkSigningDay(prescription)
        try checkCoverage(view, flowType: flowType)
        // Under `.warning` the server marks the answer instead (``practitionerNumbersValid(_:)``).
        if practitionerNumbers == .error, !practitionerNumbersValid(view) {
            throw refused(Texts.invalidPractitionerNumber, at: "Bundle.entry")
        }
        try checkKVNR(view)
        return findings
    }

    /// The DiGA prescription (`KBV_PR_EVDGA_Bundle`, flow 162) in IBM's order: `EvdgaBundle::
    /// additionalValidation` (A_26372, A_25992), then the checks `ActivateTaskHandler::handleGeneric`
    /// shares with the medicine flows. No MVO, no medication category, no IKNR or patient-system check
    /// (those are `KbvBundle`'s only).
    static func checkHealthApp(
        _ prescription: PrescriptionBundle, view: KBVPrescriptionView, flowType: FlowType, taskID: PrescriptionID,
        practitionerNumbers: PractitionerNumberPolicy
    ) throws(DispensingError) {
        let coverages = view.resources("Coverage")
        guard coverages.count == 1 else { throw refused("Expected exactly one Coverage resource", at: "Bundle.entry") }
        if KBVCoverage(coverages[0].resource, path: coverages[0].path).hasAlternativeIK {
            throw refused(Texts.accidentInsurerDiGA, at: coverages[0].path + ".payor.identifier.extension")
        }
        let requests = view.resources("DeviceRequest")
        guard requests.count == 1 else { throw refused("Expected exactly one DeviceRequest resource", at: "Bundle.entry") }
        let code = requests[0].resource.child("codeCodeableConcept")?.children(named: "coding")
            .first { $0.value(of: "system") == KBVMedication.pznSystem }?.value(of: "code")
        if let code, !CheckDigits.isValidPZN(code) {
            throw refused(Texts.pznCheckDigit, code: "TIFLOW_EREZEPT_PZN_INVALID", at: requests[0].path + ".codeCodeableConcept.coding")
        }
        try checkPrescriptionID(prescription, flowType: flowType, taskID: taskID)
        try checkSigningDay(prescription)
        try checkCoverage(view, flowType: flowType)
        if practitionerNumbers == .error, !practitionerNumbersValid(view) {
            throw refused(Texts.invalidPractitionerNumber, at: "Bundle.entry")
        }
        try checkKVNR(view)
    }

    /// The FD's texts that clients see (the refusals' `details.text`).
    public enum Texts {
        public static let validationFailed = "FHIR-Validation error"
        public static let pznLength = "Länge PZN unzulässig (muss 8-stellig sein)"
        public static let pznCheckDigit = "Ungültige PZN: Die übergebene Pharmazentralnummer entspricht nicht den vorgeschriebenen Prüfziffer-Validierungsregeln."
        public static let patientSystem = "Als Identifier für den Patienten muss eine VersichertenID (KVNR) angegeben werden."
        public static let payorIKNR = "Ungültiges Institutionskennzeichen (IKNR): Das übergebene Institutionskennzeichen im Versicherungsstatus entspricht nicht den Prüfziffer-Validierungsregeln."
        public static let alternativeIKNR = "Ungültiges Institutionskennzeichen (IKNR): Das übergebene Institutionskennzeichen des Kostenträgers entspricht nicht den Prüfziffer-Validierungsregeln."
        public static let btm = "BTM nicht zulässig"
        public static let medicinesOnly = "Für diesen Workflowtypen sind nur Arzneimittelverordnungen zulässig"
        public static let tPrescriptionsOnly = "Für diesen Workflowtypen sind nur T-Rezept Verordnungen zulässig"
        public static let flowTypeMismatch = "Flowtype mismatch between Task and QES-Bundle"
        public static let signingDay = "Ausstellungsdatum und Signaturzeitpunkt weichen voneinander ab, müssen aber taggleich sein"
        public static let coverageCount = "Unexpected number of Coverage Resources in KBV/EVDGA Bundle"
        /// A_26372: a DiGA is not prescribed at the expense of an accident insurer (no alternative IK).
        public static let accidentInsurerDiGA = "Workflow nicht für Verordnungen nutzbar, die zu Lasten von Unfallkassen oder Berufsgenossenschaften gehen"
        public static let pkvNotAllowed = "Coverage \"PKV\" not allowed for flowtype 160/162/169"
        public static let pkvRequired = "Coverage \"PKV\" not set for flowtype 200/209"
        public static let invalidPractitionerNumber = "Ungültige Arztnummer (LANR oder ZANR): Die übergebene Arztnummer entspricht nicht den Prüfziffer-Validierungsregeln."
        public static let kvnrCheckDigit = "Ungültige Versichertennummer (KVNR): Die übergebene Versichertennummer des Patienten entspricht nicht den Prüfziffer-Validierungsregeln."
    }

    static func refused(_ text: String, code: String? = nil, at expression: String?, diagnostics: String? = nil) -> DispensingError {
        .prescriptionRefused(.init(.content, text: text, detailCode: code, expression: expression, diagnostics: diagnostics))
    }

    /// A_22925 (length, normally found by the profile's invariant `-erp-begrenzungPznCode` first)
    /// and A_23892/A_24034 (check digit) for the PZN medication and the compounding's ingredients.
    static func checkPZNs(_ medications: [KBVMedication]) throws(DispensingError) {
        for medication in medications {
            for (path, code) in medication.pznCodes {
                if code.utf8.count != 8 { throw pznLength(at: path) }
                if !CheckDigits.isValidPZN(code) { throw refused(Texts.pznCheckDigit, code: "TIFLOW_EREZEPT_PZN_INVALID", at: path) }
            }
        }
    }

    /// The PZN length refusal (fd-parity §8.2 "PZN length disagreement"): the product test compares
    /// `FHIR-Validation error`, the requirement (A_22925) wants its text: that goes in diagnostics.
    public static func pznLength(at path: String) -> DispensingError {
        refused(Texts.validationFailed, code: "TIFLOW_EREZEPT_PZN_INVALID", at: path, diagnostics: Texts.pznLength)
    }

    /// The first PZN of a wrong length in the bundle, if any (run before the profile validation).
    public static func pznOfWrongLength(in bundle: Element) -> String? {
        KBVPrescriptionView(bundle).resources("Medication").lazy.flatMap { KBVMedication($0.resource, path: $0.path).pznCodes }
            .first { $0.code.utf8.count != 8 }?.path
    }

    /// A_23936-01: the patient's first identifier is a GKV KVNR system (also for PKV patients).
    static func checkPatientSystem(_ view: KBVPrescriptionView) throws(DispensingError) {
        for (path, patient) in view.resources("Patient") where patient.child("identifier")?.value(of: "system") != Systems.kvnr {
            throw refused(Texts.patientSystem, at: path + ".identifier[0].system")
        }
    }

    /// A_23888 (payor IKNR) and A_24030 (alternative IKNR).
    static func checkIKNRs(_ view: KBVPrescriptionView) throws(DispensingError) {
        for (path, element) in view.resources("Coverage") {
            let coverage = KBVCoverage(element, path: path)
            if let iknr = coverage.payorIKNR, !CheckDigits.isValidIKNR(iknr) {
                throw refused(Texts.payorIKNR, at: path + ".payor.identifier.value")
            }
            if let iknr = coverage.alternativeIKNR, !CheckDigits.isValidIKNR(iknr) {
                throw refused(Texts.alternativeIKNR, at: path + ".payor.identifier.extension")
            }
        }
    }

    /// A_22231-01 (no BtM), A_25642 (160/169/200/209: medicines only), A_27813 (166: T-Rezept only).
    static func checkCategories(_ medications: [KBVMedication], flowType: FlowType) throws(DispensingError) {
        for medication in medications {
            let code = medication.categoryCode
            let path = medication.path + ".extension"
            if code == "01" { throw refused(Texts.btm, code: "TIFLOW_EREZEPT_DRUG_CATEGORY_FORBIDDEN", at: path) }
            switch flowType {
            case .gkvPharmacy, .gkvDirectAssignment, .pkvPharmacy, .pkvDirectAssignment:
                if code != "00" { throw refused(Texts.medicinesOnly, code: "TIFLOW_FLOWTYPE_MISMATCH", at: path) }
            case .tPrescription:
                if code != "02" { throw refused(Texts.tPrescriptionsOnly, code: "TIFLOW_FLOWTYPE_MISMATCH", at: path) }
            case .diga:
                break
            }
        }
    }

    /// A_21370: the bundle's PrescriptionID has the task's flow type, and is the task's.
    static func checkPrescriptionID(_ prescription: PrescriptionBundle, flowType: FlowType, taskID: PrescriptionID) throws(DispensingError) {
        guard let id = PrescriptionID(prescription.prescriptionID) else {
            throw refused("Error while extracting prescriptionId from QES-Bundle", at: "Bundle.identifier")
        }
        guard id.flowType == flowType else { throw refused(Texts.flowTypeMismatch, at: "Bundle.identifier") }
        guard id == taskID else { throw .prescriptionIDMismatchInPrescription(expression: "Bundle.identifier") }
    }

    /// A_22487: signed on the day it was issued (Europe/Berlin). An unsigned bundle has no signing time.
    static func checkSigningDay(_ prescription: PrescriptionBundle) throws(DispensingError) {
        guard let signedAt = prescription.signedAt else { return }
        let signingDay = CalendarDate.day(of: signedAt)
        guard signingDay == prescription.authoredOn else {
            throw refused(Texts.signingDay, at: "Bundle.entry",
                          diagnostics: "KBVBundle.signature.signingDay=\(signingDay) != KBVBundle.MedicationRequest.authoredOn=\(prescription.authoredOn)")
        }
    }

    /// Exactly one Coverage, and its type fits the flow type (A_23443-01, A_22347-01).
    static func checkCoverage(_ view: KBVPrescriptionView, flowType: FlowType) throws(DispensingError) {
        let coverages = view.resources("Coverage")
        guard coverages.count == 1 else { throw refused(Texts.coverageCount, at: "Bundle.entry") }
        let isPKV = KBVCoverage(coverages[0].resource, path: coverages[0].path).typeCode == "PKV"
        let path = coverages[0].path + ".type"
        switch flowType {
        case .gkvPharmacy, .diga, .gkvDirectAssignment:
            if isPKV { throw refused(Texts.pkvNotAllowed, code: "TIFLOW_COVERAGE_TYPE_MISMATCH", at: path) }
        case .pkvPharmacy, .pkvDirectAssignment:
            if !isPKV { throw refused(Texts.pkvRequired, code: "TIFLOW_COVERAGE_TYPE_MISMATCH", at: path) }
        case .tPrescription:
            break
        }
    }

    static let anrSystem = "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR"
    static let zanrSystem = "http://fhir.de/sid/kzbv/zahnarztnummer"

    /// A_23891: every Practitioner's LANR and ZANR has a valid check digit.
    public static func practitionerNumbersValid(_ view: KBVPrescriptionView) -> Bool {
        view.resources("Practitioner").allSatisfy { _, practitioner in
            practitioner.children(named: "identifier").allSatisfy { identifier in
                let system = identifier.value(of: "system")
                guard system == anrSystem || system == zanrSystem, let value = identifier.value(of: "value") else { return true }
                return CheckDigits.isValidANR(value)
            }
        }
    }

    /// A_23890-01: one Patient, whose KVNR has a valid check digit.
    static func checkKVNR(_ view: KBVPrescriptionView) throws(DispensingError) {
        let patients = view.resources("Patient")
        guard patients.count == 1 else {
            throw refused("Expected exactly one Patient in prescription bundle, got: \(patients.count)", at: "Bundle.entry")
        }
        let value = patients[0].resource.child("identifier")?.value(of: "value") ?? ""
        guard CheckDigits.isValidKVNR(value) else { throw refused(Texts.kvnrCheckDigit, at: patients[0].path + ".identifier[0].value") }
    }
}
