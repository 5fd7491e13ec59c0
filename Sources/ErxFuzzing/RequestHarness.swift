import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import SQLiteStore

/// One server in-process for the request target: the real router with a SQLite store in a temporary
/// directory and development tokens, driven through the router's responder (no sockets), and tasks
/// in the states the fuzzed requests need (a draft, a ready and an in-progress one).
final class RequestHarness: @unchecked Sendable {
    static let doctorTelematikID = "1-HBA-Testkarte-883110000129068"
    static let pharmacyTelematikID = "3-SMC-B-Testkarte-883110000147226"
    static let kvnr = "X234567890"

    /// A task as the set-up left it: its id, AccessCode and (once accepted) Secret.
    struct Prepared {
        var id = ""
        var accessCode = ""
        var secret = ""
    }

    let directory: URL
    /// The channel every request context names; one for all, because an `EmbeddedChannel` that is
    /// never finished keeps its pipeline alive (LeakSanitizer would blame the harness per request).
    let channel = EmbeddedChannel()
    let responder: RouterResponder<ErxRequestContext>
    let doctor: String
    let pharmacy: String
    let otherPharmacy: String
    let insurant: String
    nonisolated(unsafe) static var removeAtExit: String?
    var draft = Prepared()
    var ready = Prepared()
    var inProgress = Prepared()

    init() async throws {
        // In memory where Linux offers it: the store syncs every commit, which would bound the
        // fuzzer to the disk's pace.
        let shm = URL(fileURLWithPath: "/dev/shm")
        let base = FileManager.default.fileExists(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("erx-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // libFuzzer ends the process with exit(): the directory goes then.
        Self.removeAtExit = directory.path
        atexit { RequestHarness.removeAtExit.map { _ = try? FileManager.default.removeItem(atPath: $0) } }
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
        let key = DevelopmentSigningKey.ephemeral()
        let receipts = try ReceiptIssuer.loadOrCreate(in: directory)
        let service = DispensingService(store: store, receiptIssuer: { try receipts.receipt(for: $0) })
        let env = ServerEnvironment(service: service, dispensationParameters: ServerParameters.dispensation,
                                    baseURL: "http://erx.test", acceptUnsigned: true)
        responder = ErxServer.router(env, verifier: await AccessTokenVerifier.development(key)).buildResponder()
        doctor = try await key.token(profession: Profession.doctorsPractice.rawValue, idNummer: Self.doctorTelematikID)
        pharmacy = try await key.token(profession: Profession.publicPharmacy.rawValue, idNummer: Self.pharmacyTelematikID)
        otherPharmacy = try await key.token(profession: Profession.publicPharmacy.rawValue, idNummer: "3-SMC-B-Testkarte-883110000095958")
        insurant = try await key.token(profession: Profession.insurant.rawValue, idNummer: Self.kvnr)
        try await refresh(draft: true, ready: true, inProgress: true)
    }

    func prepared(_ slot: RequestTarget.Slot) -> Prepared {
        switch slot {
        case .draft: draft
        case .ready: ready
        case .inProgress: inProgress
        }
    }

    /// One request through the router: the status, the headers and the collected body.
    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields, body: [UInt8]) async -> (HTTPResponse.Status, HTTPFields, [UInt8]) {
        var headers = headers
        headers[.contentLength] = String(body.count)
        let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: "erx.test", path: uri, headerFields: headers),
                              body: RequestBody(buffer: ByteBuffer(bytes: body)))
        let context = ErxRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: Self.logger))
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch {
            // The router answers errors itself; one escaping to here would be Hummingbird's plain 500.
            return (.internalServerError, [:], Array("escaped the router: \(error)".utf8))
        }
        let collector = BodyCollector()
        do {
            try await response.body.write(collector)
        } catch {
            violated("writing the response body failed: \(error)")
        }
        return (response.status, response.headers, collector.bytes)
    }

    /// Brings fresh tasks into the states whose task a successful fuzzed request used up.
    func refresh(draft newDraft: Bool, ready newReady: Bool, inProgress newInProgress: Bool) async throws {
        if newDraft { draft = try await create() }
        if newReady { ready = try await activate(try await create()) }
        if newInProgress { inProgress = try await accept(try await activate(try await create())) }
    }

    /// Withdraws the insurant's own objections of every category.
    func withdrawObjections() async {
        for category in ObjectionCategory.allCases {
            _ = await send(.delete, "/Consent?category=\(category.rawValue)", headers: [.authorization: "Bearer \(insurant)"], body: [])
        }
    }

    private func create() async throws -> Prepared {
        let task = try await expect(.post, "/Task/$create", token: doctor, body: RequestBodies.createParameters, status: .created)
        var prepared = Prepared(id: task.value(of: "id") ?? "")
        prepared.accessCode = task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value") ?? ""
        return prepared
    }

    private func activate(_ task: Prepared) async throws -> Prepared {
        _ = try await expect(.post, "/Task/\(task.id)/$activate?ac=\(task.accessCode)", token: doctor,
                             body: RequestBodies.prescription(id: task.id, kvnr: Self.kvnr), status: .ok)
        return task
    }

    private func accept(_ task: Prepared) async throws -> Prepared {
        let bundle = try await expect(.post, "/Task/\(task.id)/$accept?ac=\(task.accessCode)", token: pharmacy, body: nil, status: .ok)
        var task = task
        let accepted = bundle.child("entry")?.child("resource")?.wrappedResource
        task.secret = accepted?.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value") ?? ""
        return task
    }

    struct SetupFailed: Error, CustomStringConvertible {
        var description: String
    }

    private func expect(_ method: HTTPRequest.Method, _ uri: String, token: String, body: Element?, status: HTTPResponse.Status) async throws -> Element {
        var headers: HTTPFields = [.authorization: "Bearer \(token)", .accept: "application/fhir+json"]
        var bytes: [UInt8] = []
        if let body {
            headers[.contentType] = "application/fhir+json"
            bytes = try FHIRFormat.json.write(body)
        }
        let (answered, _, reply) = await send(method, uri, headers: headers, body: bytes)
        guard answered == status else { throw SetupFailed(description: "\(uri) answered \(answered): \(String(decoding: reply, as: UTF8.self))") }
        return reply.isEmpty ? Element(name: "empty") : try FHIRFormat.json.read(reply).resource
    }

    /// Quiet unless `ERX_FUZZ_LOG_LEVEL` says otherwise (`error` shows the cause of a 500, which the
    /// error seam logs).
    static let logger: Logger = {
        var logger = Logger(label: "erx-fuzz")
        logger.logLevel = ProcessInfo.processInfo.environment["ERX_FUZZ_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()
}

/// Collects a response body into bytes.
final class BodyCollector: ResponseBodyWriter, @unchecked Sendable {
    var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws {
        bytes += buffer.readableBytesView
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
