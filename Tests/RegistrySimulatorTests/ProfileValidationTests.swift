import FHIRModel
import Foundation
import HTTPTypes
import HummingbirdTesting
import RegistrySimulator
import Testing

/// The official ePA packages in `../shared/fixtures/definitions` (CI keeps `../shared` beside the
/// clone), loaded and compiled once for the whole test run.
enum EPAPackages {
    static let definitions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/definitions")

    /// What the simulated medication service knows: `de.gematik.epa.medication` 1.3.4 (ePA 3.1)
    /// with those of its dependencies the fixtures hold, and the KBV packages whose extensions a
    /// prescription carries over into the ePA resources (A_25949), so that they are checked
    /// against their definitions rather than refused as unknown (the fixtures' subset of
    /// de.basisprofil.r4 1.5.4 lacks some, such as `humanname-namenszusatz`; 1.5.2 has them).
    static let names = [
        "de.gematik.epa.medication-1.3.4", "de.basisprofil.r4-1.5.4", "de.fhir.medication-1.0.7", "de.gematik.terminology-1.0.9",
        "de.gematik.ti-1.3.1", "hl7.fhir.uv.extensions.r4-5.3.0", "de.ihe-d.terminology-3.0.1", "hl7.fhir.r4.core-4.0.1",
        "kbv.ita.erp-1.4.1", "kbv.ita.for-1.3.1", "kbv.basis-1.7.0", "gematik.kbv.sfhir.cs.vs-1.7.0", "kbv.all.st-1.32.0",
        "de.basisprofil.r4-1.5.2",
    ]

    /// A failure is reported by each test that needs the packages, not as a crash of the run.
    static let validation = Result { try PayloadValidation(profileDirectories: names.map { definitions.appendingPathComponent($0) }) }
}

/// `erx registry-sim --profiles`: every operation's body is checked against its ePA input
/// Parameters profile (fd-parity §9.1) before anything is applied; a nonconforming one is answered
/// 400 with an OperationOutcome, as the medication service answers a body it cannot use.
@Suite struct ProfileValidationTests {
    static let id = "160.000.000.000.001.05"

    @Test func aConformingCancellationIsApplied() async throws {
        let validation = try EPAPackages.validation.get()
        let state = SimulatorState()
        try await withSimulator(state, validation: validation) { client in
            let dispensation = try await client.transfer("cancel-dispensation-erp", try Payload.json(Payload.cancelDispensation(Self.id)))
            #expect(dispensation.status == .ok)
            let prescription = try await client.transfer("cancel-prescription-erp", try Payload.json(Payload.cancelPrescription(Self.id)))
            #expect(prescription.status == .ok)
        }
        #expect(await state.received().count == 2)
    }

    /// prescriptionId is 1..1 in every input profile (A_25952–A_25955 key each transfer by it).
    @Test(arguments: ["provide-dispensation-erp", "cancel-dispensation-erp", "provide-prescription-erp", "cancel-prescription-erp"])
    func aMissingPrescriptionIdIsRefusedAndNothingIsRecorded(_ operation: String) async throws {
        let validation = try EPAPackages.validation.get()
        let body = Payload.without("prescriptionId", in: Self.body(operation))
        let state = SimulatorState()
        try await withSimulator(state, validation: validation) { client in
            let response = try await client.transfer(operation, try Payload.json(body))
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/fhir+json")
            let outcome = try #require(OperationOutcome(try response.resource()))
            #expect(!outcome.issues.isEmpty)
            #expect(outcome.issues.allSatisfy { $0.severity == .error && $0.code == .invalid })
            #expect(outcome.issues.allSatisfy { $0.detailCode?.code == "MSG_BAD_FORMAT" && $0.detailCode?.system == outcomeDetailsSystem })
            #expect(outcome.issues.allSatisfy { $0.diagnostics?.contains("epa-op-\(operation)-input-parameters") == true })
            let missing = outcome.issues.filter { $0.text.contains("prescriptionId") }
            #expect(!missing.isEmpty, "\(outcome.issues.map(\.summary))")
            #expect(missing.allSatisfy { $0.expression.first?.hasPrefix("Parameters.parameter[0]") == true })
        }
        #expect(await state.received().isEmpty)
    }

    /// The simulator's own shape check lets a provide-dispensation without `medication` and with a
    /// bare MedicationDispense through; the profile does not: `medication` is 1..* and each
    /// MedicationDispense must be an `epa-medication-dispense` (subject, performer, whenHandedOver).
    @Test func withoutProfilesTheShapeSufficesWithThemTheResourcesAreChecked() async throws {
        let validation = try EPAPackages.validation.get()
        let body = try Payload.json(Payload.provideDispensation(Self.id))
        try await withSimulator { client in
            let response = try await client.transfer("provide-dispensation-erp", body)
            #expect(response.status == .ok)
        }
        try await withSimulator(validation: validation) { client in
            let response = try await client.transfer("provide-dispensation-erp", body)
            #expect(response.status == .badRequest)
            let issues = try #require(OperationOutcome(try response.resource())).issues
            #expect(issues.contains { $0.text.contains("part:medication:") && $0.expression.first == "Parameters.parameter[0].part" }, "\(issues.map(\.summary))")
            // The MedicationDispense is part[3]: its missing subject is named inside the part.
            #expect(issues.contains { $0.expression.first?.hasPrefix("Parameters.parameter[0].part[3].resource") == true }, "\(issues.map(\.summary))")
        }
    }

    /// A joined call (A_25956) is checked whole: one nonconforming parameter refuses the call and
    /// none of its transfers is applied, so the relay's one-by-one retry sets only that one aside.
    @Test func aJoinedCallWithOneNonconformingParameterIsRefusedWhole() async throws {
        let validation = try EPAPackages.validation.get()
        var parameters = Payload.cancelDispensation(Self.id)
        parameters.children.append(Payload.without("authoredOn", in: Payload.cancelDispensation("160.000.000.000.002.02")).children[0])
        let body = try Payload.json(parameters)
        let state = SimulatorState()
        try await withSimulator(state, validation: validation) { client in
            let response = try await client.transfer("cancel-dispensation-erp", body, key: "k1, k2")
            #expect(response.status == .badRequest)
            let issues = try #require(OperationOutcome(try response.resource())).issues
            #expect(issues.contains { $0.text.contains("authoredOn") && $0.expression.first?.hasPrefix("Parameters.parameter[1]") == true },
                    "\(issues.map(\.summary))")
        }
        #expect(await state.received().isEmpty)
    }

    /// The cancellations carry exactly their two parts (fd-parity §9.1).
    @Test func aCancellationWithAFurtherPartIsRefused() async throws {
        let validation = try EPAPackages.validation.get()
        var body = Payload.cancelPrescription(Self.id)
        body.children[0].children.append(Payload.resource("organization", Payload.organization))
        let json = try Payload.json(body)
        try await withSimulator(validation: validation) { client in
            let response = try await client.transfer("cancel-prescription-erp", json)
            #expect(response.status == .badRequest)
        }
    }

    /// The packages of `../shared` have the ePA resource profiles but not the operations' input
    /// profiles: the stand-in is used, and the part profiles the dispensation depends on are enforced.
    @Test func coverageSaysWhatIsCheckedAgainstWhat() throws {
        let coverage = try EPAPackages.validation.get().coverage
        #expect(coverage.count == 4)
        let dispensation = try #require(coverage.first { $0.hasPrefix("$provide-dispensation-erp:") })
        // Only the directory profile of the pharmacy is missing: MedicationDispense and Medication are checked.
        #expect(dispensation.hasSuffix("checked as the base type: OrganizationDirectory"), "\(dispensation)")
        #expect(!coverage.contains { $0.contains("e-prescription-id") }, "\(coverage)")
    }

    @Test func profileDirectoriesAreAPackageOrAFolderOfThem() throws {
        let one = EPAPackages.definitions.appendingPathComponent("de.gematik.ti-1.3.1")
        #expect(throws: PayloadValidation.SetupError.self) {
            try PayloadValidation(profileDirectories: [EPAPackages.definitions.appendingPathComponent("no-such-package")])
        }
        // A package alone loads (its profile resolves; the others are reported as not loaded).
        let validation = try PayloadValidation(profileDirectories: [one])
        #expect(validation.coverage.allSatisfy { !$0.contains("e-prescription-id") })
        #expect(validation.coverage.contains { $0.contains("epa-medication-dispense") })
    }

    static func body(_ operation: String) -> Element {
        switch operation {
        case "provide-dispensation-erp": Payload.provideDispensation(id)
        case "cancel-dispensation-erp": Payload.cancelDispensation(id)
        case "provide-prescription-erp": Payload.providePrescription(id)
        default: Payload.cancelPrescription(id)
        }
    }
}
