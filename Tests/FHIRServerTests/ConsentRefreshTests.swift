import Dispensing
import FHIRServer
import Foundation
import Hummingbird
import SQLiteStore
import HummingbirdTesting
import Synchronization
import Testing

/// When `$dispense` asks the registry for the insurant's consent decision (ARCHITECTURE decision 5):
/// only for the holder of a task's secret, only when the decision is not current, once per request,
/// and the request then decides on what the lookup stored.
@Suite(.timeLimit(.minutes(1))) struct ConsentRefreshTests {
    /// An objection registry that answers `needsRefresh` as told and records every lookup; a lookup
    /// stores `objectOnRefresh` as the registry's answer, as `ConsentCache` does with a `deny`.
    final class CountingRegistry: ObjectionRegistry {
        let stale: Bool
        let objectOnRefresh: Bool
        let store: any TaskStore
        private let asked = Mutex<[KVNR]>([])

        init(stale: Bool, objectOnRefresh: Bool = false, store: any TaskStore) {
            self.stale = stale
            self.objectOnRefresh = objectOnRefresh
            self.store = store
        }

        var lookups: [KVNR] { asked.withLock { $0 } }

        func needsRefresh(_ kvnr: KVNR) -> Bool { stale }

        func refresh(_ kvnr: KVNR) async {
            asked.withLock { $0.append(kvnr) }
            if objectOnRefresh {
                try? await store.record(Objection(kvnr: kvnr, category: .medication, source: .consentDecision, since: Date()))
            }
        }
    }

    /// Runs `body` against a server whose `$dispense` consults `registry`, with a task in progress.
    func withTask(_ registry: (any TaskStore) -> CountingRegistry,
                  _ body: @escaping @Sendable (Client, TaskFactory, TaskFactory.Prepared, CountingRegistry) async throws -> Void) async throws {
        var server = try await TestServer()
        defer { Task { [server] in await server.remove() } }
        let counting = registry(server.store)
        let receipts = server.receipts
        server.env.service = DispensingService(store: server.store, objectionRegistry: counting, receiptIssuer: { try receipts.receipt(for: $0) })
        let configured = server
        let app = Application(router: server.router)
        try await app.test(.router) { client in
            let client = Client(client: client, format: .json, server: configured)
            let factory = try await TaskFactory(client: client)
            let task = try await factory.prepare(.inProgress)
            try await body(client, factory, task, counting)
        }
    }

    func dispense(_ client: Client, _ factory: TaskFactory, _ task: TaskFactory.Prepared, secret: String) async throws -> Reply {
        try await client.send(.post, "/Task/\(task.id)/$dispense?secret=\(secret)", token: factory.pharmacy,
                              body: Bodies.dispense(id: task.id, count: 1))
    }

    @Test func aCurrentDecisionIsNotAskedAgain() async throws {
        try await withTask({ CountingRegistry(stale: false, store: $0) }) { client, factory, task, registry in
            let reply = try await dispense(client, factory, task, secret: task.secret)
            #expect(reply.status == .noContent)
            #expect(registry.lookups.isEmpty)
        }
    }

    @Test func aStaleDecisionIsAskedOnceAndWhatTheLookupStoredDecides() async throws {
        try await withTask({ CountingRegistry(stale: true, objectOnRefresh: true, store: $0) }) { client, factory, task, registry in
            let reply = try await dispense(client, factory, task, secret: task.secret)
            #expect(reply.status.code == 423)
            // Still stale after the lookup (the fake never becomes current): asked once, not in a loop.
            #expect(registry.lookups == [KVNR(TestServer.kvnr)])
            let id = try #require(PrescriptionID(task.id))
            #expect(try await client.server.store.dispensations(of: id).isEmpty)
            let queued = try await client.server.store.dueTransfers(now: Date().addingTimeInterval(86_400), limit: 100)
            #expect(!queued.contains { $0.prescriptionID == id && $0.operation == .provideDispensation })
        }
    }

    @Test func aStaleDecisionThatPermitsLetsTheDispensationThrough() async throws {
        try await withTask({ CountingRegistry(stale: true, store: $0) }) { client, factory, task, registry in
            let reply = try await dispense(client, factory, task, secret: task.secret)
            #expect(reply.status == .noContent)
            #expect(registry.lookups.count == 1)
            let id = try #require(PrescriptionID(task.id))
            #expect(try await client.server.store.dispensations(of: id).count == 1)
        }
    }

    @Test func withoutTheSecretTheRegistryIsNeverAsked() async throws {
        try await withTask({ CountingRegistry(stale: true, store: $0) }) { client, factory, task, registry in
            let wrong = String(repeating: "0", count: 64)
            let reply = try await dispense(client, factory, task, secret: wrong)
            #expect(reply.status == .forbidden)
            #expect(registry.lookups.isEmpty)
        }
    }
}
