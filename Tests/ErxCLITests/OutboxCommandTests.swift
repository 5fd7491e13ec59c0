import Dispensing
import FHIRModel
import Foundation
import SQLiteStore
import Testing

/// `erx outbox` run as a process against a data directory with dead letters in it.
struct OutboxCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try ConvertCommandTests().run(["outbox"] + arguments)
    }

    /// A data directory whose outbox has two transfers of one task: the first a dead letter, the
    /// second applied by the registry (`supersede`) or a dead letter too.
    static func dataDirectory(supersede: Bool) async throws -> (directory: URL, ids: [Int64]) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-outbox-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
        let id = PrescriptionID("160.000.033.491.280.78")!
        let task = PrescriptionTask(id: id, status: .inProgress, accessCode: nil, createdAt: Date())
        _ = try await store.insert(task, audit: AuditEntry(action: .create, prescriptionID: id, caller: Caller(profession: .doctorsPractice), kvnr: nil, recorded: Date()))
        for key in ["k1", "k2"] {
            let transfer = RegistryTransfer(operation: .provideDispensation, kvnr: KVNR("X234567890")!, prescriptionID: id, status: .inProgress,
                                            idempotencyKey: key, payload: Element(name: "Parameters"))
            try await store.update(id) { snapshot in
                (TaskChange(task: snapshot.task, audit: AuditEntry(action: .dispense, prescriptionID: id, caller: Caller(profession: .publicPharmacy), kvnr: nil, recorded: Date()), transfer: transfer), ())
            }
        }
        let ids = try await store.dueTransfers(now: Date(), limit: 10).map(\.id)
        try await store.settle([.deadLetter(ids[0], reason: "registry answered 400"),
                                supersede ? .sent(ids[1]) : .deadLetter(ids[1], reason: "registry answered 400")], at: Date())
        try await store.close()
        return (directory, ids)
    }

    @Test func listsAndRequeuesADeadLetter() async throws {
        let (directory, ids) = try await Self.dataDirectory(supersede: false)
        defer { try? FileManager.default.removeItem(at: directory) }
        let listed = try run(["dead-letters", "--data", directory.path])
        #expect(listed.status == 0)
        let lines = listed.output.split(separator: "\n")
        #expect(lines.first?.hasPrefix("id\toperation\tprescription") == true)
        #expect(lines.count == 3)
        #expect(lines.dropFirst().first?.hasPrefix("\(ids[0])\tprovide-dispensation-erp\t160.000.033.491.280.78\t1\t") == true)
        #expect(lines.last?.hasSuffix("\tregistry answered 400") == true)
        #expect(!listed.output.contains("X234567890"), "the listing names no insurant")

        let requeued = try run(["requeue", "--data", directory.path, "--all"])
        #expect(requeued.status == 0)
        #expect(requeued.output == "\(ids[0])\trequeued\n\(ids[1])\trequeued\n")
        #expect(try run(["dead-letters", "--data", directory.path]).output.split(separator: "\n").count == 1)
    }

    @Test func refusesASupersededDeadLetterWithExitStatusOne() async throws {
        let (directory, ids) = try await Self.dataDirectory(supersede: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try run(["requeue", "--data", directory.path, String(ids[0])])
        #expect(result.status == 1)
        #expect(result.output == "\(ids[0])\trefused: superseded by transfer \(ids[1]), sent or pending\n")
        // With --all a superseded letter is skipped, not an error: it stays superseded for good.
        let all = try run(["requeue", "--data", directory.path, "--all"])
        #expect(all.status == 0)
        #expect(all.output == "\(ids[0])\tskipped: superseded by transfer \(ids[1]), sent or pending\n")
    }

    @Test func aDirectoryWithoutDatabaseIsAnErrorNotANewDatabase() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-none-\(UUID().uuidString)")
        let result = try run(["dead-letters", "--data", directory.path])
        #expect(result.status == 1, "an error, not a usage error")
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }
}
