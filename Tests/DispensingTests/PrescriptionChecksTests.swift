import Dispensing
import FHIRModel
import Foundation
import Testing

/// The FD's content checks at `$activate` (fd-parity.md §8.2 rows 3–14, §8.3) on hand-made KBV
/// bundles: each rule refuses with the FD's text, and the bundle that breaks none activates. The
/// HTTP tests (`KBVActivateTests`) run the same checks on the official examples.
struct PrescriptionChecksTests {
    static let kvnr = "K220635158"
    static let kbv = "https://fhir.kbv.de/StructureDefinition/"

    /// A KBV-shaped bundle (not profile-valid: these checks come after the profile validation).
    static func bundle(
        id: PrescriptionID = Fixtures.gkvID, authoredOn: String = "2025-03-01", pzn: String = "00814665", category: String = "00",
        patientSystem: String = Systems.kvnr, kvnr: String = kvnr, coverage: String = "GKV", iknr: String = "109719018",
        alternativeIKNR: String? = nil, anr: String = "123456628", legalBasis: String = "00", mvo: [Element]? = nil,
        coverages: Int = 1, compositions: Int = 1, requests: Int = 1
    ) -> Element {
        func entry(_ resource: Element) -> Element { .init(name: "entry", children: [.init(name: "resource", children: [resource])]) }
        func ext(_ url: String, _ children: [Element]) -> Element { .init(name: "extension", children: [.init(name: "url", value: url)] + children) }
        func coding(_ name: String, system: String, code: String) -> Element {
            .init(name: name, children: [.init(name: "system", value: system), .init(name: "code", value: code)])
        }
        let composition = Element(name: "Composition", children: [
            ext(kbv + "KBV_EX_FOR_Legal_basis", [coding("valueCoding", system: "https://fhir.kbv.de/CodeSystem/KBV_CS_SFHIR_KBV_STATUSKENNZEICHEN", code: legalBasis)]),
        ])
        var requestChildren: [Element] = []
        if let mvo { requestChildren.append(ext(kbv + "KBV_EX_ERP_Multiple_Prescription", mvo)) }
        requestChildren.append(.init(name: "authoredOn", value: authoredOn))
        let medication = Element(name: "Medication", children: [
            .init(name: "meta", children: [.init(name: "profile", value: kbv + "KBV_PR_ERP_Medication_PZN|1.3")]),
            ext(kbv + "KBV_EX_ERP_Medication_Category", [coding("valueCoding", system: "https://fhir.kbv.de/CodeSystem/KBV_CS_ERP_Medication_Category", code: category)]),
            .init(name: "code", children: [coding("coding", system: "http://fhir.de/CodeSystem/ifa/pzn", code: pzn)]),
        ])
        let patient = Element(name: "Patient", children: [.init(name: "identifier", children: [.init(name: "system", value: patientSystem), .init(name: "value", value: kvnr)])])
        var payorIdentifier: [Element] = []
        if let alternativeIKNR {
            payorIdentifier.append(ext(kbv + "KBV_EX_FOR_Alternative_IK", [.init(name: "valueIdentifier", children: [.init(name: "value", value: alternativeIKNR)])]))
        }
        payorIdentifier += [.init(name: "system", value: "http://fhir.de/sid/arge-ik/iknr"), .init(name: "value", value: iknr)]
        let coverageElement = Element(name: "Coverage", children: [
            .init(name: "type", children: [coding("coding", system: "http://fhir.de/CodeSystem/versicherungsart-de-basis", code: coverage)]),
            .init(name: "payor", children: [.init(name: "identifier", children: payorIdentifier)]),
        ])
        let practitioner = Element(name: "Practitioner", children: [
            .init(name: "identifier", children: [.init(name: "system", value: "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_ANR"), .init(name: "value", value: anr)]),
        ])
        return .init(name: "Bundle", children: [
            .init(name: "meta", children: [.init(name: "profile", value: kbv + "KBV_PR_ERP_Bundle|1.3")]),
            .init(name: "identifier", children: [.init(name: "system", value: Systems.prescriptionID), .init(name: "value", value: id.rawValue)]),
        ] + Array(repeating: entry(composition), count: compositions)
          + Array(repeating: entry(.init(name: "MedicationRequest", children: requestChildren)), count: requests)
          + [entry(medication), entry(patient), entry(practitioner)] + Array(repeating: entry(coverageElement), count: coverages))
    }

    static func mvo(_ flag: Bool = true, numerator: String? = "1", denominator: String? = "2", start: String? = "2025-03-01",
                    end: String? = nil, id: String? = "urn:uuid:24e2e10d-e962-4d1c-be4f-8760e690a5f0") -> [Element] {
        var parts: [Element] = [.init(name: "extension", children: [.init(name: "url", value: "Kennzeichen"), .init(name: "valueBoolean", value: flag ? "true" : "false")])]
        if numerator != nil || denominator != nil {
            parts.append(.init(name: "extension", children: [.init(name: "url", value: "Nummerierung"), .init(name: "valueRatio", children: [
                .init(name: "numerator", children: numerator.map { [.init(name: "value", value: $0)] } ?? []),
                .init(name: "denominator", children: denominator.map { [.init(name: "value", value: $0)] } ?? []),
            ])]))
        }
        if start != nil || end != nil {
            var period: [Element] = []
            if let start { period.append(.init(name: "start", value: start)) }
            if let end { period.append(.init(name: "end", value: end)) }
            parts.append(.init(name: "extension", children: [.init(name: "url", value: "Zeitraum"), .init(name: "valuePeriod", children: period)]))
        }
        if let id {
            parts.append(.init(name: "extension", children: [.init(name: "url", value: "ID"), .init(name: "valueIdentifier", children: [.init(name: "value", value: id)])]))
        }
        return parts
    }

    static func activate(_ bundle: Element, task: PrescriptionTask = Fixtures.task(.draft), signedAt: Date? = nil,
                         policy: PractitionerNumberPolicy = .warning) throws(DispensingError) -> TaskChange {
        let prescription: PrescriptionBundle
        do { prescription = try PrescriptionBundle(bundle, signedAt: signedAt) } catch { throw error }
        return try TaskRules.activate(task, accessCode: Fixtures.accessCode.rawValue, prescription: prescription, caller: Fixtures.doctor,
                                      now: Fixtures.now, practitionerNumbers: policy)
    }

    /// The FD's text a refusal carries, or `nil` when the bundle activates.
    static func refusal(_ bundle: Element, task: PrescriptionTask = Fixtures.task(.draft), signedAt: Date? = nil,
                        policy: PractitionerNumberPolicy = .warning) -> String? {
        do {
            _ = try activate(bundle, task: task, signedAt: signedAt, policy: policy)
            return nil
        } catch {
            switch error {
            case .prescriptionRefused(let refusal): return refusal.text + (refusal.diagnostics.map { " | " + $0 } ?? "")
            case .prescriptionIDMismatchInPrescription: return "PrescriptionId mismatch between Task and QES-Bundle"
            default: return "\(error)"
            }
        }
    }

    @Test func aBundleThatBreaksNoRuleActivates() throws {
        let change = try Self.activate(Self.bundle())
        #expect(change.task.status == .ready)
        #expect(change.task.expiryDate == "2025-06-01")
        #expect(change.task.acceptDate == "2025-03-29")
    }

    @Test func checkDigits() {
        #expect(CheckDigits.isValidPZN("00814665") && !CheckDigits.isValidPZN("00814666") && !CheckDigits.isValidPZN("0081466"))
        #expect(CheckDigits.isValidKVNR("K220635158") && !CheckDigits.isValidKVNR("K220635159") && !CheckDigits.isValidKVNR("X234567890"))
        #expect(CheckDigits.isValidIKNR("109719018") && CheckDigits.isValidIKNR("104212059") && !CheckDigits.isValidIKNR("109719019"))
        #expect(CheckDigits.isValidANR("123456628") && !CheckDigits.isValidANR("123456728") && CheckDigits.isValidANR("555555999"))
        #expect(!CheckDigits.isValidANR("12345662") && !CheckDigits.isValidIKNR("10971901A"))
    }

    @Test func pznLengthA22925() {
        #expect(Self.refusal(Self.bundle(pzn: "0081466")) == "FHIR-Validation error | Länge PZN unzulässig (muss 8-stellig sein)")
        #expect(Self.refusal(Self.bundle(pzn: "008146650")) == "FHIR-Validation error | Länge PZN unzulässig (muss 8-stellig sein)")
    }

    @Test func pznCheckDigitA23892() {
        #expect(Self.refusal(Self.bundle(pzn: "00814666")) == PrescriptionChecks.Texts.pznCheckDigit)
    }

    @Test func patientIdentifierSystemA23936_01() {
        #expect(Self.refusal(Self.bundle(patientSystem: Systems.pkvKVNR)) == PrescriptionChecks.Texts.patientSystem)
    }

    @Test func iknrCheckDigitsA23888A24030() {
        #expect(Self.refusal(Self.bundle(iknr: "109719019")) == PrescriptionChecks.Texts.payorIKNR)
        #expect(Self.refusal(Self.bundle(alternativeIKNR: "120591803")) == PrescriptionChecks.Texts.alternativeIKNR)
        #expect(Self.refusal(Self.bundle(alternativeIKNR: "120591802")) == nil)
    }

    @Test func oneCompositionOneMedicationRequest() {
        #expect(Self.refusal(Self.bundle(requests: 2)) == "Expected exactly one MedicationRequest in Bundle.")
        #expect(Self.refusal(Self.bundle(compositions: 2)) == "Expected exactly one Composition in prescription bundle, got: 2")
    }

    @Test func medicationCategoryA22231_01A25642() {
        #expect(Self.refusal(Self.bundle(category: "01")) == "BTM nicht zulässig")
        #expect(Self.refusal(Self.bundle(category: "02")) == "Für diesen Workflowtypen sind nur Arzneimittelverordnungen zulässig")
    }

    /// fd-parity §8.1: a T-Rezept needs KBV 1.4 (over HTTP: TPrescriptionFlowTests).
    @Test func tPrescriptionNeedsKBV14() {
        let id = PrescriptionID(flowType: .tPrescription, serial: 1)
        var bundle = Self.bundle(id: id, category: "02")
        #expect(Self.refusal(bundle, task: Fixtures.task(.draft, id: id)) == "T-Rezept Workflow 166 not allowed before KBV-1.4")
        bundle.children[0].children[0].value = Self.kbv + "KBV_PR_ERP_Bundle|1.4"
        #expect(Self.refusal(bundle, task: Fixtures.task(.draft, id: id)) == nil)
        bundle = Self.bundle(id: id, category: "00")
        bundle.children[0].children[0].value = Self.kbv + "KBV_PR_ERP_Bundle|1.4"
        #expect(Self.refusal(bundle, task: Fixtures.task(.draft, id: id)) == "Für diesen Workflowtypen sind nur T-Rezept Verordnungen zulässig")
        #expect(Self.refusal(Self.bundle(id: id, category: "02", mvo: Self.mvo()), task: Fixtures.task(.draft, id: id))
            == "T-Rezept Workflow 166 not allowed before KBV-1.4")
    }

    @Test func prescriptionIDA21370() {
        #expect(Self.refusal(Self.bundle(id: Fixtures.directID)) == "Flowtype mismatch between Task and QES-Bundle")
        #expect(Self.refusal(Self.bundle(id: PrescriptionID("160.123.456.789.123.58")!)) == "PrescriptionId mismatch between Task and QES-Bundle")
    }

    /// A_22487: the signing day (Europe/Berlin) is the authoredOn day; 23:30 UTC on 28 Feb is 1 March in Berlin.
    @Test func signingDayA22487() {
        let lateOnTheEve = Date(timeIntervalSince1970: 1_740_785_400)  // 2025-02-28T23:30:00Z
        #expect(Self.refusal(Self.bundle(), signedAt: lateOnTheEve) == nil)
        let dayBefore = lateOnTheEve.addingTimeInterval(-3600)  // 2025-02-28T23:30:00+01:00
        #expect(Self.refusal(Self.bundle(), signedAt: dayBefore)
            == "Ausstellungsdatum und Signaturzeitpunkt weichen voneinander ab, müssen aber taggleich sein"
            + " | KBVBundle.signature.signingDay=2025-02-28 != KBVBundle.MedicationRequest.authoredOn=2025-03-01")
    }

    @Test func coverageA23443_01A22347_01() {
        #expect(Self.refusal(Self.bundle(coverage: "PKV")) == "Coverage \"PKV\" not allowed for flowtype 160/162/169")
        #expect(Self.refusal(Self.bundle(id: Fixtures.pkvID), task: Fixtures.task(.draft, id: Fixtures.pkvID)) == "Coverage \"PKV\" not set for flowtype 200/209")
        #expect(Self.refusal(Self.bundle(id: Fixtures.pkvID, coverage: "PKV"), task: Fixtures.task(.draft, id: Fixtures.pkvID)) == nil)
        #expect(Self.refusal(Self.bundle(coverages: 2)) == "Unexpected number of Coverage Resources in KBV/EVDGA Bundle")
    }

    @Test func practitionerNumberA24031A24032A24033() {
        #expect(Self.refusal(Self.bundle(anr: "123456728"), policy: .error) == PrescriptionChecks.Texts.invalidPractitionerNumber)
        #expect(Self.refusal(Self.bundle(anr: "123456728"), policy: .warning) == nil)
    }

    @Test func kvnrCheckDigitA23890_01() {
        #expect(Self.refusal(Self.bundle(kvnr: "K220635159")) == PrescriptionChecks.Texts.kvnrCheckDigit)
    }

    @Test(arguments: [
        // A_22631
        (mvo(false, start: nil), "Nummerierung darf nur bei MVO angegeben werden"),
        (mvo(false, numerator: nil, denominator: nil), "Zeitraum darf nur bei MVO angegeben werden"),
        // A_24901
        (mvo(id: "24e2e10d-e962-4d1c-be4f-8760e690a5f0"), "MVO-ID entspricht nicht urn:uuid format"),
        // A_23164
        (mvo(start: "2025-03-10", end: "2025-03-09"), "Ende der Einlösefrist liegt vor Beginn der Einlösefrist"),
        // A_22628, A_22704, A_22629, A_22630
        (mvo(numerator: "1", denominator: "5"), "Eine Mehrfachverordnungen darf aus maximal 4 Teilverordnungen bestehen"),
        (mvo(numerator: "0", denominator: "2"), "Für eine Mehrfachverordnungen muss der numerator größer 0 sein."),
        (mvo(numerator: "1", denominator: "1"), "Eine Mehrfachverordnung muss aus mindestens 2 Teilverordnungen bestehen"),
        (mvo(numerator: "3", denominator: "2"), "Numerator ist größer als denominator"),
        // A_22634, A_23537
        (mvo(start: nil), "Beginn der Einlösefrist für MVO ist erforderlich"),
        (mvo(start: "2025-02-28"), "Einlösefrist liegt zeitlich vor dem Ausstellungsdatum"),
    ])
    func multiplePrescriptionRules(_ mvo: [Element], _ text: String) {
        #expect(Self.refusal(Self.bundle(mvo: mvo))?.hasPrefix(text) == true, "\(text)")
    }

    @Test func multiplePrescriptionLegalBasisA22633A22632() {
        for code in ["10", "11", "17"] {
            #expect(Self.refusal(Self.bundle(legalBasis: code, mvo: Self.mvo())) == "Für Ersatzverordnung sind keine Mehrfachverordnungen zulässig")
        }
        for code in ["04", "14"] {
            #expect(Self.refusal(Self.bundle(legalBasis: code, mvo: Self.mvo())) == "Für Entlassrezepte sind keine Mehrfachverordnungen zulässig")
        }
    }

    /// §8.3: an MVO part is redeemable and paid until its period's end, else a year after signing.
    @Test func multiplePrescriptionDates() throws {
        let open = try Self.activate(Self.bundle(mvo: Self.mvo())).task
        #expect(open.expiryDate == "2026-03-01" && open.acceptDate == "2026-03-01")
        let ending = try Self.activate(Self.bundle(mvo: Self.mvo(start: "2025-04-01", end: "2025-07-31"))).task
        #expect(ending.expiryDate == "2025-07-31" && ending.acceptDate == "2025-07-31")
        let notMultiple = try Self.activate(Self.bundle(mvo: Self.mvo(false, numerator: nil, denominator: nil, start: nil))).task
        #expect(notMultiple.expiryDate == "2025-06-01")
    }

    /// A_22635-02 (fd-parity §8.4): a part of a multiple prescription is accepted from the Berlin day
    /// its period starts, not before.
    @Test func multiplePrescriptionPartBeforeItsStartA22635_02() throws {
        let ready = try Self.activate(Self.bundle(mvo: Self.mvo(start: "2025-03-11", end: "2025-06-30"))).task
        let eve = Date(timeIntervalSince1970: 1_741_647_540)  // 2025-03-10T22:59:00Z, still the 10th in Berlin
        #expect(throws: DispensingError.multiplePrescriptionNotYetRedeemable(mvoID: "urn:uuid:24e2e10d-e962-4d1c-be4f-8760e690a5f0", start: "2025-03-11")) {
            try TaskRules.accept(ready, accessCode: Fixtures.accessCode.rawValue, caller: Fixtures.pharmacy, now: eve, ids: FixedIDs())
        }
        let accepted = try TaskRules.accept(ready, accessCode: Fixtures.accessCode.rawValue, caller: Fixtures.pharmacy,
                                            now: eve.addingTimeInterval(120), ids: FixedIDs())
        #expect(accepted.task.status == .inProgress)
    }
}
