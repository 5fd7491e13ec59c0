import AsyncHTTPClient
import Dispensing
import ErxProfiles
import FHIRServer
import FHIRValidation
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SQLiteStore
import TICrypto
import VAUProtocol

/// `$dispense` through the VAU against plain HTTP, on one server in the same run (issue 25): the
/// ratio is the tunnel's cost (ECIES with a fresh brainpool key per request on the client, ECDH
/// and AES-GCM on the server, the inner request parsed and dispatched). Rounds alternate plain and
/// VAU so that a drift of the machine hits both. Also the brainpool ECDH alone, per call.
/// Run from the repository root (it reads `fixtures/validation/valid/dispense-1.6-two.json`), in
/// release: `swift run -c release erx-vau-bench [tasks] [seconds per round] [concurrency]`.

let taskCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 64 : 64
let seconds = CommandLine.arguments.count > 2 ? Double(CommandLine.arguments[2]) ?? 5 : 5
let concurrency = CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3]) ?? 8 : 8

struct Failure: Error { let what: String }

func benchmark() async throws {
    var logger = Logger(label: "erx-vau-bench")
    logger.logLevel = .critical
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-vau-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
    let validator = ProfileValidator(profiles: CompiledProfiles(repository: try ErxProfiles.repository()))
    var env = ServerEnvironment(service: DispensingService(store: store, receiptIssuer: { _ in throw CancellationError() }),
                                dispensationParameters: DispensationParameters(validator: validator, windows: try ErxProfiles.workflowVersions()),
                                baseURL: "http://127.0.0.1")
    env.acceptUnsigned = true
    let vauKey = try BrainpoolP256r1.PrivateKey()
    env.vau = VAUSettings(transport: .both, key: vauKey, certificateDER: [])
    let key = DevelopmentSigningKey.ephemeral()
    let verifier = await AccessTokenVerifier.development(key)
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    let app = ErxServer.application(env, verifier: verifier, host: "127.0.0.1", port: 0, logger: logger) { channel in
        portContinuation.yield(channel.localAddress?.port ?? 0)
    }
    let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
    let server = Task { try await serviceGroup.run() }
    var portIterator = ports.makeAsyncIterator()
    let port = await portIterator.next() ?? 0
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    let base = "http://127.0.0.1:\(port)"

    @Sendable func send(_ method: HTTPMethod, _ path: String, token: String, body: [UInt8]) async throws -> (UInt, [UInt8]) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        if !body.isEmpty {
            request.headers.add(name: "Content-Type", value: "application/fhir+json")
            request.body = .bytes(body)
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        return (response.status.code, Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
    }

    @Sendable func sendThroughVAU(_ path: String, token: String, body: [UInt8]) async throws -> UInt {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(token)"
        fields[.contentType] = "application/fhir+json"
        fields[.accept] = "application/fhir+json"
        let inner = InnerHTTPRequest(head: HTTPRequest(method: .post, scheme: "https", authority: "erx", path: path, headerFields: fields), body: body)
        let call = try VAUClientCall(inner, accessToken: token, serverPoint: vauKey.uncompressedPublicPoint, ephemeral: try BrainpoolP256r1.PrivateKey())
        var request = HTTPClientRequest(url: base + "/VAU/0")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(call.body)
        let response = try await http.execute(request, timeout: .seconds(30))
        let outer = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard response.status == .ok else { return response.status.code }
        return UInt(try call.open(outer).status.code)
    }

    // In-progress tasks, made plainly as a prescriber and a pharmacy would.
    let kvnr = (0...9).map { "T00000001\($0)" }.first(where: CheckDigits.isValidKVNR) ?? "T000000010"
    let pharmacyID = "3-SMC-B-Testkarte-883110000095957"
    let doctor = try await key.token(profession: Profession.doctorsPractice.rawValue, idNummer: "1-HBA-Bench-1")
    let pharmacy = try await key.token(profession: Profession.publicPharmacy.rawValue, idNummer: pharmacyID)
    let template = try String(contentsOfFile: "fixtures/validation/valid/dispense-1.6-two.json", encoding: .utf8)
    var tasks: [(id: String, secret: String, body: [UInt8])] = []
    let flow = "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType"
    for _ in 0..<taskCount {
        let (_, created) = try await send(.POST, "/Task/$create", token: doctor, body: Array(#"""
            {"resourceType":"Parameters","parameter":[{"name":"workflowType","valueCoding":{"system":"\#(flow)","code":"160"}}]}
            """#.utf8))
        let task = try JSONSerialization.jsonObject(with: Data(created)) as? [String: Any] ?? [:]
        let id = task["id"] as? String ?? ""
        let identifiers = task["identifier"] as? [[String: Any]] ?? []
        let accessCode = identifiers.first { ($0["system"] as? String)?.hasSuffix("AccessCode") == true }?["value"] as? String ?? ""
        let today = CalendarDate.day(of: Date())
        let (activated, _) = try await send(.POST, "/Task/\(id)/$activate?ac=\(accessCode)", token: doctor, body: Array(#"""
            {"resourceType":"Bundle","identifier":{"system":"https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId","value":"\#(id)"},
             "type":"document","entry":[
              {"fullUrl":"urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01","resource":{"resourceType":"Patient","identifier":[{"system":"http://fhir.de/sid/gkv/kvid-10","value":"\#(kvnr)"}]}},
              {"fullUrl":"urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b02","resource":{"resourceType":"MedicationRequest","status":"active","intent":"order",
               "subject":{"reference":"urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01"},"authoredOn":"\#(today)"}}]}
            """#.utf8))
        guard activated == 200 else { throw Failure(what: "$activate answered \(activated)") }
        let (accepted, bundle) = try await send(.POST, "/Task/\(id)/$accept?ac=\(accessCode)", token: pharmacy, body: [])
        guard accepted == 200, let secret = String(decoding: bundle, as: UTF8.self).firstMatch(of: /"value":"([0-9a-f]{64})"/).map({ String($0.1) })
        else { throw Failure(what: "$accept answered \(accepted)") }
        let body = template.replacingOccurrences(of: "160.100.000.412.558.88", with: id).replacingOccurrences(of: "M572033186", with: kvnr)
            .replacingOccurrences(of: "3-SMC-B-Testkarte-883110000147226", with: pharmacyID).replacingOccurrences(of: "2026-10-09", with: today)
            .replacingOccurrences(of: "2026-10-08", with: today)
        tasks.append((id, secret, Array(body.utf8)))
    }
    let (probe, probeBody) = try await send(.POST, "/Task/\(tasks[0].id)/$dispense?secret=\(tasks[0].secret)", token: pharmacy, body: tasks[0].body)
    guard probe == 204 else { throw Failure(what: "$dispense answered \(probe): \(String(decoding: probeBody, as: UTF8.self))") }
    guard try await sendThroughVAU("/Task/\(tasks[0].id)/$dispense?secret=\(tasks[0].secret)", token: pharmacy, body: tasks[0].body) == 204 else {
        throw Failure(what: "$dispense through the VAU failed")
    }

    /// `$dispense`/s from `concurrency` clients for `seconds`, each on its own tasks.
    func rate(_ call: @escaping @Sendable (String, String, [UInt8]) async throws -> UInt) async -> (perSecond: Double, failed: Int) {
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        let work = tasks
        let counts = await withTaskGroup(of: (Int, Int).self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    var (good, bad, index) = (0, 0, client)
                    while ContinuousClock.now < end {
                        let task = work[index % work.count]
                        if (try? await call(task.id, task.secret, task.body)) == 204 { good += 1 } else { bad += 1 }
                        index += concurrency
                    }
                    return (good, bad)
                }
            }
            return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        let elapsed = start.duration(to: .now).components
        return (Double(counts.0) / (Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18), counts.1)
    }

    var plainRates: [Double] = []
    var vauRates: [Double] = []
    for _ in 0..<2 {
        let plain = await rate { id, secret, body in try await send(.POST, "/Task/\(id)/$dispense?secret=\(secret)", token: pharmacy, body: body).0 }
        let vau = await rate { id, secret, body in try await sendThroughVAU("/Task/\(id)/$dispense?secret=\(secret)", token: pharmacy, body: body) }
        plainRates.append(plain.perSecond)
        vauRates.append(vau.perSecond)
        print(String(format: "round: plain %.0f $dispense/s (%d failed), VAU %.0f $dispense/s (%d failed)", plain.perSecond, plain.failed, vau.perSecond, vau.failed))
    }
    let plainMean = plainRates.reduce(0, +) / Double(plainRates.count)
    let vauMean = vauRates.reduce(0, +) / Double(vauRates.count)
    print(String(format: "$dispense, %d clients, %d tasks: plain %.0f/s, VAU %.0f/s: VAU = %.2f× plain", concurrency, taskCount, plainMean, vauMean, vauMean / plainMean))

    // The brainpool ECDH of one request on each side (the client's fresh key included).
    let rounds = 500
    let clock = ContinuousClock()
    let ecdh = try clock.measure {
        for _ in 0..<rounds {
            let ephemeral = try BrainpoolP256r1.PrivateKey()
            _ = try ephemeral.sharedSecret(withUncompressedPoint: vauKey.uncompressedPublicPoint)
            _ = try vauKey.sharedSecret(withUncompressedPoint: ephemeral.uncompressedPublicPoint)
        }
    }.components
    let perCall = (Double(ecdh.seconds) + Double(ecdh.attoseconds) * 1e-18) / Double(rounds) * 1e6
    print(String(format: "brainpool per request (client key + both ECDHs): %.0f µs", perCall))
    try await http.shutdown()
    server.cancel()
}

do {
    try await benchmark()
} catch {
    print("erx-vau-bench failed: \(error)")
    exit(1)
}
