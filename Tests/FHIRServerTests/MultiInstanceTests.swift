import AsyncHTTPClient
import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import RegistrySimulator
import StoreTestSupport
import Testing

/// Issue 21: several `erx serve` processes on one PostgreSQL database, as behind a load balancer.
/// Each test has a database of its own and two instances sharing one data directory (the keys).
@Suite(.serialized)
struct MultiInstanceTests {
    /// The whole workflow with each call on the other instance than the one before: create and
    /// activate on A, accept on B, dispense on A, read on B, close on A; every answer as on one.
    @Test func theWorkflowCrossesInstances() async throws {
        try await withInstances(2) { cluster in
            let (a, b) = (cluster.api(0), cluster.api(1))
            let kvnr = testKVNR(9_101)
            let created = try await a.send(.POST, "/Task/$create", profession: .doctorsPractice, id: TestServer.doctorTelematikID,
                                           body: Bodies.createParameters())
            #expect(created.status == 201)
            let task = try #require(created.body)
            let id = try #require(task.value(of: "id"))
            let accessCode = try #require(task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value"))
            let activated = try await b.send(.POST, "/Task/\(id)/$activate?ac=\(accessCode)", profession: .doctorsPractice, id: TestServer.doctorTelematikID,
                                             body: Bodies.prescription(id: id, kvnr: kvnr, authoredOn: "2026-10-01"))
            #expect(activated.status == 200)
            let accepted = try await a.send(.POST, "/Task/\(id)/$accept?ac=\(accessCode)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID)
            #expect(accepted.status == 200)
            let acceptedTask = accepted.body?.child("entry")?.child("resource")?.wrappedResource
            let secret = try #require(acceptedTask?.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value"))
            let dispensed = try await b.send(.POST, "/Task/\(id)/$dispense?secret=\(secret)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID,
                                             body: Bodies.dispense(id: id, count: 2, kvnr: kvnr, handedOver: "2026-10-05"))
            #expect(dispensed.status == 204)
            let read = try await a.send(.GET, "/MedicationDispense?identifier=\(Systems.prescriptionID)|\(id)", profession: .insurant, id: kvnr)
            #expect(read.status == 200)
            #expect(Self.dispensations(in: read.body).count == 2)
            let closed = try await b.send(.POST, "/Task/\(id)/$close?secret=\(secret)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID)
            #expect(closed.status == 200)
            // The receipt is signed with the key both instances read from the shared directory.
            let insurantRead = try await a.send(.GET, "/Task/\(id)", profession: .insurant, id: kvnr)
            #expect(insurantRead.status == 200)
            let secretRead = try await a.send(.GET, "/Task/\(id)?secret=\(secret)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID)
            #expect(secretRead.status == 200)
        }
    }

    /// 20 overwrites of one task at once, spread over both instances: the stored set is exactly one
    /// of the 20 sets sent, whole (the row lock serializes them across instances).
    @Test func concurrentOverwritesAcrossInstancesLeaveOneWholeSet() async throws {
        try await withInstances(2) { cluster in
            let kvnr = testKVNR(9_102)
            let task = try await cluster.api(0).inProgressTask(kvnr: kvnr)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<20 {
                    group.addTask {
                        // Writer w sends (w % 3) + 1 dispensations handed over on day w + 1.
                        try await cluster.api(writer % 2).send(
                            .POST, "/Task/\(task.id)/$dispense?secret=\(task.secret)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID,
                            body: Bodies.dispense(id: task.id, count: writer % 3 + 1, kvnr: kvnr, handedOver: String(format: "2026-10-%02d", writer + 1))
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 204 }, "\(statuses)")
            let read = try await cluster.api(1).send(.GET, "/MedicationDispense?identifier=\(Systems.prescriptionID)|\(task.id)", profession: .insurant, id: kvnr)
            let days = Self.dispensations(in: read.body).compactMap { $0.value(of: "whenHandedOver") }
            let day = try #require(Set(days).count == 1 ? days.first : nil, "the stored set mixes writers: \(days)")
            let writer = try #require(Int(day.suffix(2))) - 1
            #expect(days.count == writer % 3 + 1, "writer \(writer)'s set is not whole: \(days.count) of \(writer % 3 + 1)")
        }
    }

    /// 200 `$dispense` for 20 insured persons over both instances, the registry failing 30 % of the
    /// calls, and one instance killed (SIGKILL) while its relay works: every transfer reaches the
    /// registry exactly once (applied once per idempotency key), each person's in the order written.
    @Test func everyTransferArrivesOnceAndInOrderWhenAnInstanceIsKilledMidRelay() async throws {
        try await withInstances(2, registryErrorRate: 0.3, shortLease: true) { cluster in
            var tasks: [(id: String, secret: String, kvnr: String)] = []
            for person in 0..<20 {
                let kvnr = testKVNR(9_200 + person)
                let task = try await cluster.api(person % 2).inProgressTask(kvnr: kvnr)
                tasks.append((task.id, task.secret, kvnr))
            }
            // Ten rounds; after the fourth, instance 0 is killed and instance 1 takes all requests.
            // A slow registry before the kill, so transfers are in flight when it comes.
            for round in 0..<10 {
                if round == 2 { await cluster.registry.setFaults(Faults(errorRate: 0.3, latencyMs: 150)) }
                if round == 4 {
                    cluster.kill(0)
                    #expect(try await cluster.pendingTransfers() > 0, "the outbox was empty at the kill; the test proves nothing")
                    await cluster.registry.setFaults(Faults(errorRate: 0.3))
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, task) in tasks.enumerated() {
                        let api = cluster.api(round >= 4 ? 1 : (index + round) % 2)
                        group.addTask { try await api.dispense((task.id, task.secret), kvnr: task.kvnr) }
                    }
                    try await group.waitForAll()
                }
            }
            let expected = 20 * 11
            // Generous: the whole suite shares two cores with these two instances and the cluster.
            try await waitUntil(240) { await cluster.registry.received().count >= expected }
            try await Task.sleep(for: .milliseconds(500))
            // Each key applied once (the simulator applies a key once and counts the rest as replays:
            // what the killed instance had sent but not settled), none missing.
            let received = await cluster.registry.received()
            #expect(received.count == expected)
            // In order: per task, the keys arrive in the order the outbox wrote them.
            let written = try await cluster.outboxKeysInWriteOrder()
            for task in tasks {
                let arrived = received.filter { $0.prescriptionId == task.id }.map(\.idempotencyKey)
                #expect(arrived == written[task.id], "task \(task.id): out of order or missing")
            }
        }
    }

    /// Without a kill, two relays on one outbox never send the same transfer: no replay at all
    /// (without claims both would read and send every due row).
    @Test func twoLiveRelaysNeverSendATransferTwice() async throws {
        try await withInstances(2, registryErrorRate: 0.3) { cluster in
            var tasks: [(id: String, secret: String, kvnr: String)] = []
            for person in 0..<10 {
                let kvnr = testKVNR(9_300 + person)
                let task = try await cluster.api(person % 2).inProgressTask(kvnr: kvnr)
                tasks.append((task.id, task.secret, kvnr))
            }
            for round in 0..<5 {
                for (index, task) in tasks.enumerated() {
                    try await cluster.api((index + round) % 2).dispense((task.id, task.secret), kvnr: task.kvnr)
                }
            }
            try await waitUntil(60) { await cluster.registry.received().count >= 60 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(await cluster.registry.received().count == 60)
            #expect(await cluster.registry.replays() == 0)
        }
    }

    /// Both instances killed and started again: every write that was answered 2xx is there.
    @Test func everyAcknowledgedWriteSurvivesKillingBothInstances() async throws {
        try await withInstances(2) { cluster in
            let acknowledged = Acknowledged()
            var tasks: [(id: String, secret: String, kvnr: String)] = []
            for person in 0..<8 {
                let kvnr = testKVNR(9_400 + person)
                let task = try await cluster.api(person % 2).inProgressTask(kvnr: kvnr)
                tasks.append((task.id, task.secret, kvnr))
            }
            // Writers keep overwriting until both instances die under them.
            let writerTasks = tasks
            let writers = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (index, task) in writerTasks.enumerated() {
                        group.addTask {
                            for round in 1...1_000 {
                                let day = String(format: "2026-10-%02d", round % 27 + 1)
                                await acknowledged.attempt(task.id, day)
                                guard let reply = try? await cluster.api((index + round) % 2).send(
                                    .POST, "/Task/\(task.id)/$dispense?secret=\(task.secret)", profession: .publicPharmacy,
                                    id: TestServer.pharmacyTelematikID, body: Bodies.dispense(id: task.id, count: 1, kvnr: task.kvnr, handedOver: day)
                                ) else { return }
                                if reply.status == 204 { await acknowledged.set(task.id, day) }
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(1_500))
            cluster.kill(0)
            cluster.kill(1)
            await writers.value
            try await cluster.restart(0)
            try await cluster.restart(1)
            for task in tasks {
                guard let day = await acknowledged.last(task.id), let attempted = await acknowledged.attempted(task.id) else { continue }
                let read = try await cluster.api(1).send(.GET, "/MedicationDispense?identifier=\(Systems.prescriptionID)|\(task.id)",
                                                         profession: .insurant, id: task.kvnr)
                let days = Self.dispensations(in: read.body).compactMap { $0.value(of: "whenHandedOver") }
                // The last acknowledged set, or the next one, whose answer the kill cut off (one
                // writer per task, so there is no other).
                #expect(days == [day] || days == [attempted], "task \(task.id): acknowledged \(day), stored \(days)")
            }
            #expect(await acknowledged.count > 8)
        }
    }

    static func dispensations(in bundle: Element?) -> [Element] {
        (bundle?.children(named: "entry") ?? []).compactMap { $0.child("resource")?.wrappedResource }
            .filter { $0.name == "MedicationDispense" }
    }
}

/// The last day each task's `$dispense` was acknowledged with.
actor Acknowledged {
    private var days: [String: String] = [:]
    private var attempts: [String: String] = [:]
    private var total = 0
    func attempt(_ id: String, _ day: String) { attempts[id] = day }
    func set(_ id: String, _ day: String) { days[id] = day; total += 1 }
    func last(_ id: String) -> String? { days[id] }
    func attempted(_ id: String) -> String? { attempts[id] }
    var count: Int { total }
}
