import Dispensing
import FHIRModel
import Foundation
import Testing

/// Flow type 162, DiGA (issue 24 item 3), on the domain: the `$activate` checks IBM runs for an
/// evDGA bundle (`EvdgaBundle::additionalValidation`, then `ActivateTaskHandler::handleGeneric`), the
/// dates, who redeems, the dispense profile, and no ePA transfer. The HTTP tests are `DiGAFlowTests`
/// and `DiGARefusalTests`.
struct DiGARulesTests {
    static let id = PrescriptionID(flowType: .diga, serial: 33_491_280)
    static let insurerID = TelematikID("8-SMC-B-Testkarte-883110000095957")!
    static let insurer = Caller(profession: .insurer, telematikID: insurerID)

    /// `PrescriptionChecksTests`' KBV-shaped bundle made a DiGA prescription: the evDGA bundle
    /// profile, a DeviceRequest with the app's PZN instead of MedicationRequest and Medication.
    static func bundle(
        id: PrescriptionID = id, pzn: String = "17946626", coverage: String = "GKV", iknr: String = "109719018", alternativeIKNR: String? = nil,
        kvnr: String = PrescriptionChecksTests.kvnr, coverages: Int = 1, requests: Int = 1, authoredOn: String = "2025-03-01"
    ) -> Element {
        var bundle = PrescriptionChecksTests.bundle(id: id, authoredOn: authoredOn, kvnr: kvnr, coverage: coverage, iknr: iknr,
                                                    alternativeIKNR: alternativeIKNR, coverages: coverages)
        let request = Element(name: "DeviceRequest", children: [
            .init(name: "codeCodeableConcept", children: [.init(name: "coding", children: [
                .init(name: "system", value: "http://fhir.de/CodeSystem/ifa/pzn"), .init(name: "code", value: pzn),
            ])]),
            .init(name: "authoredOn", value: authoredOn),
        ])
        let entry = Element(name: "entry", children: [.init(name: "resource", children: [request])])
        bundle.children = bundle.children.flatMap { child -> [Element] in
            switch child.child("resource")?.wrappedResource?.name {
            case "MedicationRequest": Array(repeating: entry, count: requests)
            case "Medication": []
            default: [child]
            }
        }
        bundle.children[0] = .init(name: "meta", children: [.init(name: "profile", value: PrescriptionChecksTests.kbv + "KBV_PR_EVDGA_Bundle|1.2")])
        return bundle
    }

    static func refusal(_ bundle: Element) -> String? {
        PrescriptionChecksTests.refusal(bundle, task: Fixtures.task(.draft, id: id))
    }

    /// A_27845/A_19445: accept and expiry date both 3 months after the signing day (IBM
    /// `Task::setAcceptDateDependentPrescriptionType` puts 162 beside 200/209).
    @Test func aDiGAActivatesRedeemableForThreeMonths() throws {
        let change = try PrescriptionChecksTests.activate(Self.bundle(), task: Fixtures.task(.draft, id: Self.id))
        #expect(change.task.status == .ready)
        #expect(change.task.kvnr?.rawValue == PrescriptionChecksTests.kvnr)
        #expect(change.task.authoredOn == "2025-03-01")
        #expect(change.task.expiryDate == "2025-06-01")
        #expect(change.task.acceptDate == "2025-06-01")
        // The end of a shorter month: 30 November + 3 months is the last of February (IBM `date::last`).
        let late = try PrescriptionChecksTests.activate(Self.bundle(authoredOn: "2025-11-30"), task: Fixtures.task(.draft, id: Self.id))
        #expect(late.task.acceptDate == "2026-02-28" && late.task.expiryDate == "2026-02-28")
    }

    /// IBM `EvdgaBundle::additionalValidation`: A_26372 (no accident insurer), A_25992 (the app's PZN).
    @Test func evdgaChecksA26372A25992() {
        #expect(Self.refusal(Self.bundle(alternativeIKNR: "120591802")) == PrescriptionChecks.Texts.accidentInsurerDiGA)
        #expect(Self.refusal(Self.bundle(pzn: "17946627")) == PrescriptionChecks.Texts.pznCheckDigit)
        #expect(Self.refusal(Self.bundle(coverages: 2)) == "Expected exactly one Coverage resource")
        #expect(Self.refusal(Self.bundle(requests: 2)) == "Expected exactly one DeviceRequest resource")
    }

    /// The checks 162 shares with the medicine flows (`handleGeneric`): A_23443-01, A_23890-01, A_21370.
    @Test func sharedChecksA23443_01A23890_01A21370() {
        #expect(Self.refusal(Self.bundle(coverage: "PKV")) == PrescriptionChecks.Texts.pkvNotAllowed)
        #expect(Self.refusal(Self.bundle(kvnr: "K220635159")) == PrescriptionChecks.Texts.kvnrCheckDigit)
        #expect(Self.refusal(Self.bundle(id: Fixtures.gkvID)) == PrescriptionChecks.Texts.flowTypeMismatch)
        // The medicine flows' checks (MVO, medication category, IKNR) are not run: a bad payor IKNR passes.
        #expect(Self.refusal(Self.bundle(iknr: "109719019")) == nil)
    }

    /// A_19166-02, A_25993: the insurer takes a DiGA, the pharmacies every other flow.
    @Test func whoRedeems() {
        #expect(FlowType.diga.redeemingProfessions == [.insurer])
        for flow in FlowType.allCases where flow != .diga { #expect(flow.redeemingProfessions == Profession.pharmacies) }
        #expect(FlowType.supported.contains(.diga))
    }

    /// A_26003-01: 162 takes only the DiGA MedicationDispense; A_26002-02: the others refuse it.
    @Test func closeTakesOnlyTheDiGADispenseA26003_01() throws {
        var task = Fixtures.task(.inProgress, id: Self.id, owner: Self.insurerID)
        task.kvnr = Fixtures.kvnr
        let medicine = [FHIR.dispensation(0, dispense: FHIR.medicationDispense(prescriptionID: Self.id.rawValue, telematikIDs: [Self.insurerID.rawValue]))]
        #expect(throws: DispensingError.healthAppDispenseRequired(expression: "Parameters.parameter[0].part[0].resource.meta.profile")) {
            try DispenseRules.close(task, secret: Fixtures.secret.rawValue, caller: Self.insurer, body: .success(medicine), now: Fixtures.now,
                                    ids: FixedIDs(), receipt: { _ in Element(name: "Bundle") })
        }
        let diga = [FHIR.dispensation(0, dispense: FHIR.medicationDispense(profiles: [Fixtures.digaProfile], prescriptionID: Self.id.rawValue,
                                                                          telematikIDs: [Self.insurerID.rawValue], medicationReference: nil),
                                      medication: nil)]
        let change = try DispenseRules.close(task, secret: Fixtures.secret.rawValue, caller: Self.insurer, body: .success(diga), now: Fixtures.now,
                                             ids: FixedIDs(), receipt: { _ in Element(name: "Bundle") })
        #expect(change.task.status == .completed)
        #expect(change.task.owner == Self.insurerID)
    }

    /// A_25944-01: the ePA learns nothing of a DiGA, neither its activation nor its close.
    @Test func noRegistryTransferA25944_01() throws {
        let activated = try PrescriptionChecksTests.activate(Self.bundle(), task: Fixtures.task(.draft, id: Self.id))
        #expect(try RegistryTransfers.transfer(for: activated, before: Fixtures.task(.draft, id: Self.id), storedDispensations: { [] }, ids: FixedIDs()) == nil)
        let medicine = try PrescriptionChecksTests.activate(PrescriptionChecksTests.bundle())
        #expect(try RegistryTransfers.transfer(for: medicine, before: Fixtures.task(.draft), storedDispensations: { [] }, ids: FixedIDs()) != nil)
        #expect(FlowType.allCases.filter(\.isTransferredToRegistry) == [.gkvPharmacy, .tPrescription, .gkvDirectAssignment, .pkvPharmacy, .pkvDirectAssignment])
    }

    /// An insurer reads like a pharmacy: with a credential only (IBM `toInnerRequestRole`: pharmacy).
    @Test func theInsurerReadsWithACredential() {
        #expect(throws: DispensingError.readCredentialMissing) { try ReadRules.admit(secret: nil, accessCode: nil, caller: Self.insurer) }
    }
}
