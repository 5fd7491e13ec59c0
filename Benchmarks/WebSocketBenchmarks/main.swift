import Dispensing
import ErxProfiles
import FHIRServer
import FHIRValidation
import Foundation
import Hummingbird
import HummingbirdWSClient
import Logging
import NIOCore
import ServiceLifecycle
import SQLiteStore

/// Ping latency of the subscription websockets (issue 23): how long from `messageArrived` to the
/// client's receipt of `ping: <id>` with 200 websockets open, next to the round trip of `bind:` →
/// `bound:` on one of them in the same run (the websocket's own cost, the baseline: compare the
/// ratio, not the absolute figures, across machines). Server and clients share this process and its
/// two-core event loop group over loopback. Run in release:
/// `swift run -c release erx-ws-bench [sockets] [rounds]`.
///
/// * one-of-N: N sockets of N Telematik-IDs; each round notifies one of them and times its ping.
/// * fan-out: N sockets of one Telematik-ID; each round notifies it once and times all N pings.
/// * DispReq (``DispReqLoad``): the ping after each of `rounds` DispReqs posted over HTTP to the N
///   bound pharmacies, and DispReq posts/s against `GET /health/live` at the same concurrency.

let sockets = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200 : 200
let rounds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 500 : 500

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) * 1e-15
}

func summary(_ samples: [Double]) -> (median: Double, p99: Double) {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return (0, 0) }
    return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))])
}

/// One websocket client: what it receives, with the moment, in order.
struct Socket {
    let send: AsyncStream<String>.Continuation
    var received: AsyncStream<(String, ContinuousClock.Instant)>.Iterator

    static func open(port: Int, token: String, logger: Logger) -> Socket {
        let (outgoing, send) = AsyncStream<String>.makeStream()
        let (incoming, receive) = AsyncStream<(String, ContinuousClock.Instant)>.makeStream()
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders[.authorization] = "Bearer \(token)"
        Task {
            _ = try? await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/subscription", configuration: configuration, logger: logger) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1024) {
                            if case .text(let text) = message { receive.yield((text, .now)) }
                        }
                    }
                    for await text in outgoing { try await outbound.write(.text(text)) }
                    group.cancelAll()
                }
            }
            receive.finish()
        }
        return Socket(send: send, received: incoming.makeAsyncIterator())
    }

    /// The next text received that starts with `prefix`, and when.
    mutating func next(_ prefix: String) async -> ContinuousClock.Instant? {
        while let (text, at) = await received.next() {
            if text.hasPrefix(prefix) { return at }
        }
        return nil
    }
}

func telematikID(_ index: Int) -> TelematikID { TelematikID("3-SMC-B-Bench-\(index)")! }

/// The whole run, in a function: top-level variables would be main-actor state.
func benchmark() async throws {
    var logger = Logger(label: "erx-ws-bench")
    logger.logLevel = .critical
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("erx-ws-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try SQLiteTaskStore(path: directory.appendingPathComponent("erx.sqlite").path)
    let validator = ProfileValidator(profiles: CompiledProfiles(repository: try ErxProfiles.repository()))
    var env = ServerEnvironment(service: DispensingService(store: store, receiptIssuer: { _ in throw CancellationError() }),
                                dispensationParameters: DispensationParameters(validator: validator, windows: try ErxProfiles.workflowVersions()),
                                baseURL: "http://127.0.0.1")
    env.subscriptions = SubscriptionSettings(tokens: .ephemeral(), pseudonyms: .ephemeral(),
                                             limits: WebSocketLimits(maximumPerSubscription: sockets, maximumConnections: 2 * sockets))
    let settings = env.subscriptions
    let hub = settings.hub
    env.acceptUnsigned = true  // the DispReq half makes its ready task from an unsigned bundle
    let key = DevelopmentSigningKey.ephemeral()
    let verifier = await AccessTokenVerifier.development(key)
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    let app = ErxServer.application(env, verifier: verifier, host: "127.0.0.1", port: 0, logger: logger,
                                    connections: ConnectionLimits(maximumConnections: 4 * sockets)) { channel in
        portContinuation.yield(channel.localAddress?.port ?? 0)
    }
    let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
    let server = Task { try await serviceGroup.run() }
    var portIterator = ports.makeAsyncIterator()
    let port = await portIterator.next() ?? 0

    /// Opens `count` sockets for the Telematik-IDs `ids(i)`, binds them, and waits for every `bound:`.
    func openBound(_ count: Int, id telematikID: (Int) -> TelematikID) async throws -> [Socket] {
        var opened: [Socket] = []
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        for index in 0..<count {
            let id = settings.pseudonyms.pseudonym(of: telematikID(index))
            let token = try await settings.tokens.issue(subscriptionID: id, issued: now, expires: now.addingTimeInterval(3600))
            var socket = Socket.open(port: port, token: token, logger: logger)
            socket.send.yield("bind: \(id)")
            guard await socket.next("bound: ") != nil else { throw CancellationError() }
            opened.append(socket)
        }
        return opened
    }


    print("erx websocket ping latency: \(sockets) open websockets, \(rounds) rounds, debug=\(_isDebugAssertConfiguration())")

    // one-of-N, and the baseline on the same sockets.
    var spread = try await openBound(sockets, id: telematikID)
    var baseline: [Double] = []
    var oneOfN: [Double] = []
    for round in 0..<rounds {
        let index = (round * 7919) % sockets
        let id = settings.pseudonyms.pseudonym(of: telematikID(index))
        let sent = ContinuousClock.now
        spread[index].send.yield("bind: \(id)")
        if let at = await spread[index].next("bound: ") { baseline.append(milliseconds(at - sent)) }
        let raised = ContinuousClock.now
        await hub.messageArrived(for: telematikID(index))
        if let at = await spread[index].next("ping: ") { oneOfN.append(milliseconds(at - raised)) }
    }
    // A DispReq posted over HTTP to each bound pharmacy in turn: from its 201 to the ping.
    let load = DispReqLoad(port: port, key: key)
    let task = try await load.readyTask()
    var afterDispReq: [Double] = []
    for round in 0..<rounds {
        let index = (round * 7919) % sockets
        let answered = try await load.post("/Communication", token: task.insurantToken, json: DispReqLoad.dispReq(task, to: telematikID(index)))
        let stored = ContinuousClock.now
        guard answered.status == 201 else { throw DispReqLoad.Failure(what: "POST /Communication answered \(answered.status)") }
        if let at = await spread[index].next("ping: ") { afterDispReq.append(milliseconds(at - stored)) }
    }
    // Throughput, 16 clients for 5 s each: the probe, then DispReqs (the sockets stay bound and pinged).
    let probeRate = await load.rate(concurrency: 16, seconds: 5, expected: 200) { _ in try await load.get("/health/live") }
    let dispReqRate = await load.rate(concurrency: 16, seconds: 5, expected: 201) { index in
        try await load.post("/Communication", token: task.insurantToken, json: DispReqLoad.dispReq(task, to: telematikID(index % sockets))).status
    }
    await load.shutdown()
    for socket in spread { socket.send.finish() }
    spread = []
    try await Task.sleep(for: .milliseconds(500))

    // fan-out: all sockets on one Telematik-ID.
    var fan = try await openBound(sockets) { _ in telematikID(0) }
    var fanAll: [Double] = []
    var fanLast: [Double] = []
    for _ in 0..<max(1, rounds / 10) {
        let raised = ContinuousClock.now
        await hub.messageArrived(for: telematikID(0))
        var last = 0.0
        for index in fan.indices {
            if let at = await fan[index].next("ping: ") {
                let latency = milliseconds(at - raised)
                fanAll.append(latency)
                last = max(last, latency)
            }
        }
        fanLast.append(last)
    }
    for socket in fan { socket.send.finish() }

    let base = summary(baseline)
    func line(_ name: String, _ samples: [Double]) {
        let figures = summary(samples)
        print(String(format: "%-34@ median %7.3f ms  p99 %7.3f ms  (%5.2fx / %5.2fx the bind round trip)  n=%d",
                     name as NSString, figures.median, figures.p99, figures.median / base.median, figures.p99 / base.p99, samples.count))
    }
    print(String(format: "%-34@ median %7.3f ms  p99 %7.3f ms  n=%d", "baseline bind→bound round trip" as NSString, base.median, base.p99, baseline.count))
    line("ping, one of \(sockets) notified", oneOfN)
    line("ping, fan-out to \(sockets), each", fanAll)
    line("ping, fan-out to \(sockets), last", fanLast)
    line("ping after a DispReq's 201", afterDispReq)
    print(String(format: "%-34@ %9.0f req/s (failed %d)", "probe GET /health/live, 16 clients" as NSString, probeRate.perSecond, probeRate.failed))
    print(String(format: "%-34@ %9.0f req/s (failed %d)  %5.3fx the probe", "DispReq POST /Communication, 16" as NSString,
                 dispReqRate.perSecond, dispReqRate.failed, dispReqRate.perSecond / max(probeRate.perSecond, 1)))

    await serviceGroup.triggerGracefulShutdown()
    _ = try? await server.value
    try? await store.close()
}

try await benchmark()
