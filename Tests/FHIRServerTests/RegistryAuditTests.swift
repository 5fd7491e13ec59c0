import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import RegistryClient
import RegistrySimulator
import SQLiteStore
import StoreTestSupport
import Testing

/// A_25962: each registry transfer that succeeded or finally failed is an AuditEvent for the
/// insurant, with the service as the agent; retries are not (fd-parity.md §6.3, events 33–40).
@Suite(.serialized)
struct RegistryAuditTests {
    static func events(_ harness: RelayHarness, kvnr: String) async throws -> [Element] {
        let insurant = try await harness.server.token(.insurant, id: kvnr)
        let reply = try await harness.client.send(.get, "/AuditEvent?_count=50", token: insurant, headers: [.acceptLanguage: "de"])
        // A_19296-04: the service's own events are GEM_ERP_PR_AuditEvents like the others (issue 20 item 9).
        if AnswerValidator.packagesAvailable {
            await AnswerValidator.loaded()
            AnswerValidator.validate(try reply.resource(), route: "GET /AuditEvent (registry events)", tally: AnswerValidator.Tally())
        }
        return InsurantReadTests.entries(try reply.resource()).map(\.resource)
            .filter { $0.descendant("agent", "type", "coding", "code")?.value == "dataprocessor" }
    }

    @Test func deliveredTransfersAreAudited() async throws {
        try await RelayHarness.run { harness in
            let kvnr = testKVNR(600)
            let task = try await harness.inProgressTask(kvnr: kvnr)
            #expect(try await harness.dispense(task).status == .noContent)
            try await harness.drained()
            #expect(try await harness.close(task).status == .ok)
            try await harness.drained()
            let events = try await Self.events(harness, kvnr: kvnr)
            let texts = events.compactMap { $0.descendant("text", "div")?.value }
            #expect(texts.count == 3)
            #expect(texts.first?.contains("Die Verordnung wurde in die Patientenakte übertragen.") == true)
            #expect(texts.dropFirst().allSatisfy { $0.contains("Die Medikamentenabgabe wurde in die Patientenakte übertragen.") })
            #expect(events.allSatisfy { $0.descendant("agent", "name")?.value == "E-Rezept-Fachdienst" })
            #expect(events.allSatisfy { $0.descendant("agent", "who", "identifier", "value")?.value == "9-E-Rezept-Fachdienst" })
            #expect(events.allSatisfy { $0.value(of: "action") == "C" && $0.descendant("entity", "description")?.value == task.id })
        }
    }

    @Test func aFinallyFailedTransferIsAuditedOnceAndRetriesAreNot() async throws {
        try await RelayHarness.run(configure: { $0.maximumAttempts = 3 }) { harness in
            let kvnr = testKVNR(601)
            await harness.simulator.setFaults(Faults(errorRate: 1))
            _ = try await TaskFactory(client: harness.client).prepare(.ready, kvnr: kvnr)
            try await harness.drained()
            let events = try await Self.events(harness, kvnr: kvnr)
            #expect(events.count == 1)
            #expect(events.first?.descendant("text", "div")?.value?.contains("Die Verordnung konnte nicht in die Patientenakte übertragen werden.") == true)
        }
    }

    /// fd-parity.md §9.4: a 200 whose outcome refuses the transfer. `MEDSVC_PRESCRIPTION_NO_EXIST`
    /// and `_STATUS` are settled for good (no operator can mend them) and the next transfer
    /// follows; any other `MEDSVC_*` refusal is a dead letter. Both are the insurant's failure event.
    @Test(arguments: [("MEDSVC_PRESCRIPTION_NO_EXIST", "refused", 0), ("MEDSVC_PRESCRIPTION_STATUS", "refused", 0), ("MEDSVC_INTERNAL_ERROR", "dead", 1)])
    func aRefusalInA200IsSettledAndAudited(code: String, state: String, deadLetters: Int) async throws {
        try await RelayHarness.run { harness in
            let kvnr = testKVNR(603)
            await harness.simulator.setFaults(Faults(refused: [kvnr: code]))
            let task = try await harness.inProgressTask(kvnr: kvnr)
            #expect(try await harness.dispense(task).status == .noContent)
            try await harness.drained()
            #expect(try await harness.server.store.readUnchecked(sql: "SELECT state FROM outbox ORDER BY id") == [state, state])
            #expect(try await harness.server.store.outboxStatistics().dead == 2 * deadLetters)
            let texts = try await Self.events(harness, kvnr: kvnr).compactMap { $0.descendant("text", "div")?.value }
            #expect(texts.count == 2)
            #expect(texts.first?.contains("Die Verordnung konnte nicht in die Patientenakte übertragen werden.") == true)
            #expect(texts.last?.contains("Die Medikamentenabgabe konnte nicht in die Patientenakte übertragen werden.") == true)
            #expect(await harness.received().isEmpty)
        }
    }

    @Test func anObjectingInsurantGetsNoRegistryEvents() async throws {
        try await RelayHarness.run { harness in
            let kvnr = testKVNR(602)
            await harness.simulator.setFaults(Faults(deny: [kvnr]))
            _ = try await TaskFactory(client: harness.client).prepare(.ready, kvnr: kvnr)
            try await harness.drained()
            #expect(try await Self.events(harness, kvnr: kvnr).isEmpty)
        }
    }
}
