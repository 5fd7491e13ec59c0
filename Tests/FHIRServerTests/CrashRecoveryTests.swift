import AsyncHTTPClient
import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import Synchronization
import StoreTestSupport
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import RegistrySimulator
import SQLiteStore
import ServiceLifecycle
import Testing

/// `erx serve` as a process, killed with SIGKILL while its outbox is full and the registry is slow,
/// then started again on the same data: every transfer arrives, none twice.
@Suite(.serialized)
struct CrashRecoveryTests {
    @Test func aServerKilledWithAFullOutboxDeliversEverythingOnceAfterARestart() async throws {
        let state = SimulatorState()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var quiet = Logger(label: "registry-sim")
        quiet.logLevel = .critical
        let simulator = RegistrySimulator.application(state: state, host: "127.0.0.1", port: 0, logger: quiet) {
            continuation.yield($0.localAddress?.port ?? 0)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-crash-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let http = HTTPClient(eventLoopGroupProvider: .singleton)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.runService() }
            var iterator = ports.makeAsyncIterator()
            let registryPort = try #require(await iterator.next())
            let arguments = ["serve", "--port", "0", "--data", directory.path, "--accept-unsigned",
                             "--registry", "http://127.0.0.1:\(registryPort)", "--relay-backoff-ms", "20", "--relay-poll-ms", "10"]

            var server = try await ServerProcess.start(arguments: arguments)
            defer { server.kill() }
            let api = API(http: http, baseURL: server.baseURL, key: try DevelopmentSigningKey.loadOrCreate(in: directory))
            var tasks: [(id: String, secret: String)] = []
            for index in 0..<10 { tasks.append(try await api.inProgressTask(kvnr: testKVNR(700 + index))) }
            // A slow registry: transfers are in flight, some applied but not yet settled, when the kill comes.
            await state.setFaults(Faults(latencyMs: 100))
            for _ in 0..<5 {
                for (index, task) in tasks.enumerated() { try await api.dispense(task, kvnr: testKVNR(700 + index)) }
            }
            server.kill()

            let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
            let pendingAtKill = try await store.outboxStatistics().pending
            try await store.close()
            #expect(pendingAtKill > 0, "the outbox was empty at the kill; the test proves nothing")

            await state.setFaults(Faults())
            server = try await ServerProcess.start(arguments: arguments)
            try await waitUntil(60) { await state.received().count >= 60 }
            try await Task.sleep(for: .milliseconds(300))
            let received = await state.received()
            #expect(received.count == 60)
            #expect(Set(received.map(\.idempotencyKey)).count == received.count)
            for (index, task) in tasks.enumerated() {
                let mine = received.filter { $0.prescriptionId == task.id }
                #expect(mine.map(\.operation) == ["provide-prescription-erp"] + Array(repeating: "provide-dispensation-erp", count: 5), "task \(index)")
            }
            group.cancelAll()
        }
        try await http.shutdown()
    }
}

/// A running `erx` binary and the URL it announced.
struct ServerProcess {
    let process: ChildProcess
    let baseURL: String

    /// The `erx` binary beside the test bundle in the build directory.
    static let binary: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("erx").path), directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("erx")
    }()

    /// Starts the binary; the wait for its first line blocks a thread outside the cooperative pool,
    /// which the in-process simulator needs.
    /// `environment` is added to the test process's own.
    static func start(arguments: [String], environment: [String: String] = [:]) async throws -> ServerProcess {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try ServerProcess(arguments: arguments, environment: environment) })
            }
        }
    }

    private init(arguments: [String], environment: [String: String]) throws {
        process = try ChildProcess(Self.binary.path, arguments,
                                   environment: ProcessInfo.processInfo.environment.merging(environment) { $1 }, stdout: .pipe)
        // The server prints one line once it listens: "erx listening on http://127.0.0.1:PORT (…)".
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")), let output = process.output {
            let chunk = output.read()
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "http://[0-9.]+:[0-9]+", options: .regularExpression) else {
            process.signal(SIGTERM)
            process.wait()
            throw ProcessFailure(output: text)
        }
        baseURL = String(text[range])
    }

    func kill() {
        process.signal(SIGKILL)
        process.wait()
    }

    struct ProcessFailure: Error { let output: String }
}

/// The workflow over real HTTP, as a pharmacy system calls it.
struct API {
    let http: HTTPClient
    let baseURL: String
    let key: DevelopmentSigningKey

    func send(_ method: HTTPMethod, _ path: String, profession: Profession, id: String, body: Element? = nil) async throws -> (status: Int, body: Element?) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer " + (try await key.token(profession: profession.rawValue, idNummer: id)))
        request.headers.add(name: "Accept", value: "application/fhir+json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/fhir+json")
            request.body = .bytes(ByteBuffer(bytes: try FHIRFormat.json.write(body)))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        let element = bytes.readableBytes > 0 ? try? FHIRFormat.json.read(Array(bytes.readableBytesView)).resource : nil
        return (Int(response.status.code), element)
    }

    func inProgressTask(kvnr: String) async throws -> (id: String, secret: String) {
        let created = try await send(.POST, "/Task/$create", profession: .doctorsPractice, id: TestServer.doctorTelematikID, body: Bodies.createParameters())
        let task = try #require(created.body)
        let id = task.value(of: "id") ?? ""
        let accessCode = task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value") ?? ""
        let activated = try await send(.POST, "/Task/\(id)/$activate?ac=\(accessCode)", profession: .doctorsPractice, id: TestServer.doctorTelematikID,
                                       body: Bodies.prescription(id: id, kvnr: kvnr, authoredOn: "2026-10-01"))
        #expect(activated.status == 200)
        let accepted = try await send(.POST, "/Task/\(id)/$accept?ac=\(accessCode)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID)
        let acceptedTask = accepted.body?.child("entry")?.child("resource")?.wrappedResource
        let secret = acceptedTask?.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value") ?? ""
        return (id, secret)
    }

    func dispense(_ task: (id: String, secret: String), kvnr: String) async throws {
        let reply = try await send(.POST, "/Task/\(task.id)/$dispense?secret=\(task.secret)", profession: .publicPharmacy, id: TestServer.pharmacyTelematikID,
                                   body: Bodies.dispense(id: task.id, count: 1, kvnr: kvnr, handedOver: Bodies.nextHandover()))
        #expect(reply.status == 204)
    }
}

