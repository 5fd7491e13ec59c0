import Dispensing
import FHIRModel
import Foundation
import StoreTestSupport
import Testing

/// The `CommunicationStore` port on both stores (fd-messaging-transport §1.6–§1.8).
@Suite struct CommunicationStoreTests {
    static let other = "Y987654321"

    static func message(_ task: PrescriptionID, kind: Communication.Kind = .representative, from sender: String = Fixtures.kvnr.rawValue,
                        to recipient: String = other, sent: Date = Fixtures.created) -> Communication {
        Communication(id: RandomIDGenerator.timeOrderedUUID(now: sent), kind: kind, profileVersion: "1.6", prescriptionID: task,
                      sender: sender, recipient: recipient, sent: sent,
                      resource: Fixtures.resource(#"{"resourceType":"Communication","status":"unknown"}"#))
    }

    /// A_20229-01: twelve concurrent Representative posts between the same two insurants on one
    /// task: exactly ten are stored, the count being taken in the insert's own transaction.
    @Test(arguments: StoreKind.allCases)
    func theRepresentativeLimitHoldsUnderConcurrency_A_20229(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let messages = try #require(store as? any CommunicationStore)
            let task = Fixtures.task(Fixtures.prescriptionID(40))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<12 {
                    let message = index % 2 == 0 ? Self.message(task.id) : Self.message(task.id, from: Self.other, to: Fixtures.kvnr.rawValue)
                    group.addTask {
                        do {
                            try await messages.insert(message, representativeLimit: 10)
                            return true
                        } catch CommunicationError.tooManyRepresentativeMessages(limit: 10) {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 10)
            #expect(try await messages.representativeCount(of: task.id, between: Self.other, and: Fixtures.kvnr.rawValue) == 10)
            // Other types are not counted.
            try await messages.insert(Self.message(task.id, kind: .reply, from: Fixtures.pharmacyID.rawValue, to: Fixtures.kvnr.rawValue),
                                      representativeLimit: .max)
        }
    }

    /// A_19027-06: the insert reads the task again in its own transaction, so a message whose checks
    /// passed before a `$abort` committed is not left behind on the cancelled task; nor is one
    /// stored for a task that is gone.
    @Test(arguments: StoreKind.allCases)
    func noMessageIsStoredForACancelledOrMissingTask_A_19027(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let messages = try #require(store as? any CommunicationStore)
            var task = Fixtures.task(Fixtures.prescriptionID(41))
            task.status = .cancelled
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let reply = Self.message(task.id, kind: .reply, from: Fixtures.pharmacyID.rawValue, to: Fixtures.kvnr.rawValue)
            await #expect(throws: CommunicationError.taskWithoutKVNR) { try await messages.insert(reply, representativeLimit: 10) }
            let missing = Self.message(Fixtures.prescriptionID(42), kind: .reply, from: Fixtures.pharmacyID.rawValue, to: Fixtures.kvnr.rawValue)
            await #expect(throws: CommunicationError.taskMissing(prescriptionID: Fixtures.prescriptionID(42).rawValue)) {
                try await messages.insert(missing, representativeLimit: 10)
            }
            #expect(try await messages.communications(for: Fixtures.kvnr.rawValue).isEmpty)
        }
    }

    /// A_19520-02, A_19521, A_20258, A_19027-06: reads by participant, `received` for the recipient
    /// only, deletion by the sender only, and `$abort`'s delete in the task's transaction.
    @Test(arguments: StoreKind.allCases)
    func readsMarksDeletesAndAbort(kind: StoreKind) async throws {
        try await withTemporaryStore(kind) { store async throws in
            let messages = try #require(store as? any CommunicationStore)
            let task = Fixtures.task(Fixtures.prescriptionID(41))
            #expect(try await store.insert(task, audit: Fixtures.createAudit(task)))
            let first = Self.message(task.id, kind: .dispReq, to: Fixtures.pharmacyID.rawValue)
            let second = Self.message(task.id, kind: .reply, from: Fixtures.pharmacyID.rawValue, to: Fixtures.kvnr.rawValue,
                                      sent: Fixtures.created.addingTimeInterval(1))
            for message in [first, second] { try await messages.insert(message, representativeLimit: .max) }
            #expect(try await messages.communications(for: Fixtures.kvnr.rawValue).map(\.id) == [first.id, second.id])
            #expect(try await messages.communications(for: Self.other).isEmpty)
            #expect(try await messages.communication(first.id, for: Self.other, now: Date()) == nil)
            // The sender's read does not mark; the recipient's does, once.
            let read = Fixtures.created.addingTimeInterval(60)
            #expect(try await messages.communication(first.id, for: Fixtures.kvnr.rawValue, now: read)?.received == nil)
            #expect(try await messages.communication(first.id, for: Fixtures.pharmacyID.rawValue, now: read)?.received == read)
            #expect(try await messages.communication(first.id, for: Fixtures.pharmacyID.rawValue, now: read.addingTimeInterval(5))?.received == read)
            try await messages.markReceived([first.id, second.id], by: Fixtures.kvnr.rawValue, at: read)
            let stored = try await messages.communications(for: Fixtures.kvnr.rawValue)
            #expect(stored.map(\.received) == [read, read])
            #expect(stored.first?.resource == first.resource)
            #expect(try await messages.deleteCommunication(first.id, sender: Fixtures.pharmacyID.rawValue) == .notTheSender)
            #expect(try await messages.deleteCommunication(first.id, sender: Fixtures.kvnr.rawValue) == .deleted)
            #expect(try await messages.deleteCommunication(first.id, sender: Fixtures.kvnr.rawValue) == .notFound)
            try await store.update(task: task.id) { current in
                var next = current
                next.status = .cancelled
                return (TaskChange(task: next, audit: Fixtures.audit(.abort, current.id, at: read), deleteCommunications: true), ())
            }
            #expect(try await messages.communications(for: Fixtures.kvnr.rawValue).isEmpty)
        }
    }
}
