import Dispensing
import FHIRFormats
import FHIRModel
import HTTPTypes
import Foundation
import RegistrySimulator
import SQLiteStore
import StoreTestSupport
import Testing

/// The relay's payloads against a simulator that holds them to the ePA input profiles
/// (`registry-sim --profiles`, fd-parity §9.1): every transfer of the workflow is accepted, and one
/// that does not conform is refused (400) and set aside as a dead letter.
///
/// The packages in `../shared` hold the official resource profiles (`epa-medication-dispense`,
/// `epa-medication`, `e-prescription-id`, …) but not the operations' own input profiles,
/// `epa-medication-request` or the directory profiles: the simulator then checks the envelope
/// against its stand-in and those parts against their base types (``EPAPackages``). With the full
/// packages (epa.medication 1.3.0, fhir.directory 1.0.1, in the E2E suite's profile folder) in the
/// list, these tests pass as well.
@Suite(.serialized)
struct RegistryPayloadConformanceTests {
    static let pharmacyName = "Apotheke am Markt"

    /// activate (A_25952), dispense (A_25933, status in-progress, A_25954-01), close (A_25928-01,
    /// status completed), reject after a dispense (A_25926, A_25955) and abort (A_25953): each
    /// transfer conforms to its operation's input profile, the resources mapped to the ePA profiles
    /// (A_25946, A_25948, A_25949) and the pharmacy's organization made from its token's
    /// Telematik-ID and organizationName (A_25947).
    @Test func everyTransferOfTheWorkflowConformsAndIsAccepted() async throws {
        let validation = try EPAPackages.validation.get()
        try await RelayHarness.run(validation: validation) { harness in
            let pharmacy = try await harness.server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID, organizationName: Self.pharmacyName)
            let closed = try await harness.inProgressTask(kvnr: testKVNR(500), prescription: EPAPackages.kbvPrescription)
            #expect(try await harness.dispense(closed, pharmacyName: Self.pharmacyName).status == .noContent)
            #expect(try await harness.close(closed, pharmacyName: Self.pharmacyName).status == .ok)
            let rejected = try await harness.inProgressTask(kvnr: testKVNR(501), prescription: EPAPackages.kbvPrescription)
            #expect(try await harness.dispense(rejected, count: 2, pharmacyName: Self.pharmacyName).status == .noContent)
            #expect(try await harness.client.send(.post, "/Task/\(rejected.id)/$reject?secret=\(rejected.secret)", token: pharmacy).status == .noContent)
            let aborted = try await harness.inProgressTask(kvnr: testKVNR(502), prescription: EPAPackages.kbvPrescription)
            #expect(try await harness.client.send(.post, "/Task/\(aborted.id)/$abort?secret=\(aborted.secret)", token: pharmacy).status == .noContent)
            try await harness.drained()

            // A payload is cleared once sent: what is left is a refused one, shown with every issue.
            for (operation, payload) in try await Self.payloads(in: harness.server.store) {
                let errors = try #require(validation.errors(in: try FHIRFormat.json.read(Array(payload.utf8)).resource, operation: operation))
                #expect(errors.isEmpty, "\(operation): \(errors.map(\.summary))")
            }
            #expect(try await harness.server.store.outboxStatistics().dead == 0)
            let received = await harness.received()
            #expect(received.filter { $0.kvnr == closed.kvnr }.map(\.operation) == [
                "provide-prescription-erp", "provide-dispensation-erp", "provide-dispensation-erp",
            ])
            #expect(received.filter { $0.kvnr == closed.kvnr }.map(\.status) == [nil, "in-progress", "completed"])
            #expect(received.filter { $0.kvnr == rejected.kvnr }.map(\.operation) == [
                "provide-prescription-erp", "provide-dispensation-erp", "cancel-dispensation-erp",
            ])
            #expect(received.filter { $0.kvnr == aborted.kvnr }.map(\.operation) == ["provide-prescription-erp", "cancel-prescription-erp"])
        }
    }

    /// A stored transfer the profile refuses — the real one with a part taken out — is answered 400
    /// and becomes a dead letter (400 → dead letter, fd-parity §9.4); the insurant's next transfer
    /// follows. Without `medication` the simulator's own shape check would have taken it: the
    /// profile (medication 1..*) is what refuses it.
    @Test(arguments: ["prescriptionId", "medication"])
    func aNonconformingTransferIsRefusedAndSetAside(_ removedPart: String) async throws {
        let validation = try EPAPackages.validation.get()
        try await RelayHarness.run(validation: validation) { harness in
            let task = try await harness.inProgressTask(kvnr: testKVNR(510), prescription: EPAPackages.kbvPrescription)
            try await harness.drained()
            // Held while the registry is down, so that the stored payload can be read (a sent one is cleared).
            await harness.simulator.setFaults(Faults(down: true))
            #expect(try await harness.dispense(task, pharmacyName: Self.pharmacyName).status == .noContent)
            let (_, stored) = try #require(try await Self.payloads(in: harness.server.store).last { $0.operation == "provide-dispensation-erp" })
            var broken = try FHIRFormat.json.read(Array(stored.utf8)).resource
            let index = try #require(broken.children.firstIndex { $0.name == "parameter" })
            broken.children[index].children.removeAll { $0.name == "part" && $0.value(of: "name") == removedPart }
            let errors = try #require(validation.errors(in: broken, operation: "provide-dispensation-erp"))
            #expect(errors.contains { $0.text.contains(removedPart) }, "\(errors.map(\.summary))")
            let hex = try FHIRFormat.json.write(broken).map { String(format: "%02x", $0) }.joined()
            try await harness.server.store.executeUnchecked(sql: """
                INSERT INTO outbox (task_id, kvnr, operation, payload, created_at, next_attempt_at, status, idempotency_key)
                VALUES ('\(task.id)', '\(task.kvnr)', 'provide-dispensation-erp', X'\(hex)', 0, 0, 'in-progress', 'nonconforming-1')
                """)
            #expect(try await harness.dispense(task, pharmacyName: Self.pharmacyName).status == .noContent)
            await harness.simulator.setFaults(Faults())
            try await harness.drained()
            let dead = try await harness.server.store.deadLetters()
            #expect(dead.count == 1)
            #expect(dead.first?.lastError?.contains("400") == true, "\(dead)")
            let received = await harness.received()
            // The refused transfer went in a joined call with its neighbours first, then alone (JoinedCallTests).
            #expect(received.map(\.operation) == ["provide-prescription-erp", "provide-dispensation-erp", "provide-dispensation-erp"])
            #expect(!received.contains { $0.idempotencyKey == "nonconforming-1" })
        }
    }

    /// The outbox's payloads in write order, with their operations.
    static func payloads(in store: any TestableStore) async throws -> [(operation: String, payload: String)] {
        let rows = try await store.readUnchecked(sql: "SELECT operation || char(10) || CAST(payload AS TEXT) FROM outbox ORDER BY id")
        return rows.compactMap { row in
            guard let row, let newline = row.firstIndex(of: "\n") else { return nil }
            return (String(row[..<newline]), String(row[row.index(after: newline)...]))
        }
    }
}
