import AsyncHTTPClient
import Dispensing
import FHIRFormats
import FHIRModel
@testable import FHIRServer
import Foundation
import Hummingbird
import HummingbirdWSClient
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import ServiceLifecycle
import Testing

/// The websocket endpoint (fd-messaging-transport §2.3) on the FHIR listener, over real sockets on
/// loopback with hummingbird-websocket's `WebSocketClient`: bind, bound, ping, the refusals, the
/// close at the token's expiry, and the limits.
@Suite(.serialized) struct SubscriptionSocketTests {
    static let pharmacy = TelematikID(TestServer.pharmacyTelematikID)!
    static let otherPharmacy = TelematikID(TestServer.otherPharmacyTelematikID)!

    /// Runs `ErxServer.application` on a free port for the duration of `body`.
    static func withServer(limits: WebSocketLimits = WebSocketLimits(), connections: ConnectionLimits = ConnectionLimits(),
                           _ body: @escaping @Sendable (Int, TestServer) async throws -> Void) async throws {
        var made = try await TestServer()
        made.env.subscriptions = SubscriptionSettings(tokens: .ephemeral(), pseudonyms: .ephemeral(), limits: limits)
        let server = made
        defer { Task { await server.remove() } }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = ErxServer.application(server.env, verifier: server.verifier, host: "127.0.0.1", port: 0, logger: logger,
                                        connections: connections) { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
            group.addTask { try await serviceGroup.run() }
            var ports = stream.makeAsyncIterator()
            let port = await ports.next() ?? 0
            try await body(port, server)
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    static func token(_ server: TestServer, for telematikID: TelematikID = pharmacy, lifetime: TimeInterval = 3600) async throws -> (id: String, token: String) {
        let settings = server.env.subscriptions
        let id = settings.pseudonyms.pseudonym(of: telematikID)
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        return (id, try await settings.tokens.issue(subscriptionID: id, issued: now.addingTimeInterval(min(0, lifetime) - 60),
                                                    expires: now.addingTimeInterval(lifetime)))
    }

    /// The status line of a raw upgrade request with `authorization`.
    static func upgradeStatus(port: Int, path: String = "/subscription", authorization: String?) throws -> String {
        let connection = try ConnectionLimitTests.Connection(port: port)
        let header = authorization.map { "Authorization: \($0)\r\n" } ?? ""
        connection.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\(header)\r\n")
        // "\r\n" is one Character in Swift.
        return String(connection.readToClose().text.prefix { $0 != "\r\n" })
    }

    /// A_22367-03 end to end, as a pharmacy system sees it: POST /Subscription over HTTP, the channel
    /// header's token opens the websocket, `bind` is answered `bound`, and each DispReq an insurant
    /// then posts for this pharmacy (POST /Communication, a real task made ready over HTTP) arrives
    /// as `ping: <id>` within 1 s of its 201. Five rounds; the median must be under 1 s and every
    /// ping must come (within 10 s), so one stall of a loaded test machine does not decide.
    @Test func A_22367_03_aBoundClientIsPingedWithinOneSecondOfADispReq() async throws {
        try await Self.withServer { port, server in
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            defer { Task { try? await http.shutdown() } }
            let base = "http://127.0.0.1:\(port)"
            func send(_ path: String, token: String, body: Element?) async throws -> (status: Int, resource: Element?) {
                var request = HTTPClientRequest(url: base + path)
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Content-Type", value: "application/fhir+json")
                request.headers.add(name: "Accept", value: "application/fhir+json")
                if let body { request.body = .bytes(try FHIRFormat.json.write(body)) }
                let response = try await http.execute(request, timeout: .seconds(30))
                let bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
                return (Int(response.status.code), bytes.isEmpty ? nil : try FHIRFormat.json.read(bytes).resource)
            }
            let pharmacyToken = try await server.token(.publicPharmacy, id: Self.pharmacy.rawValue)
            let subscribed = try await send("/Subscription", token: pharmacyToken, body: SubscriptionCreateTests.subscription())
            #expect(subscribed.status == 200)
            let subscription = try #require(subscribed.resource)
            let id = try #require(subscription.value(of: "id"))
            let header = try #require(subscription.descendant("channel", "header")?.value)
            let token = String(header.dropFirst("Authorization: Bearer ".count))

            let probe = WebSocketProbe(port: port, token: token)
            probe.send("bind: \(id)")
            // Generous: the whole suite runs beside this test on two cores; the latency is measured below.
            #expect(await probe.text(startingWith: "bound: ", timeout: .seconds(30))?.text == "bound: \(id)")

            let doctor = try await server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)
            // Up to three attempts of five DispReqs each: the median of one attempt must be under 1 s. A
            // loaded CI machine (the whole suite in parallel on two cores) may stall one attempt; a
            // server that pings late stalls all three. `scripts/bench-communication.sh` measures it unloaded.
            var pings = 0
            /// Five DispReqs, each to a fresh ready task: how long after each 201 its ping came.
            func fiveDispReqs() async throws -> [Duration] {
                var latencies: [Duration] = []
                for _ in 0..<5 {
                    let created = try #require(try await send("/Task/$create", token: doctor, body: Bodies.createParameters(flowType: 160)).resource)
                    let task = try #require(created.value(of: "id"))
                    let accessCode = try #require(created.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value"))
                    let activated = try await send("/Task/\(task)/$activate?ac=\(accessCode)", token: doctor,
                                                   body: Bodies.prescription(id: task, authoredOn: "2026-10-01"))
                    #expect(activated.status == 200)
                    let posted = try await send("/Communication", token: insurant,
                                                body: CommunicationTestSupport.dispReq(task: task, accessCode: accessCode, recipient: Self.pharmacy.rawValue))
                    let stored = ContinuousClock.now
                    #expect(posted.status == 201)
                    let ping = try #require(await probe.text(startingWith: "ping: ", skipping: pings, timeout: .seconds(10)))
                    pings += 1
                    #expect(ping.text == "ping: \(id)")
                    latencies.append(ping.at - stored)
                }
                return latencies
            }
            var attempts: [[Duration]] = []
            for _ in 0..<3 {
                attempts.append(try await fiveDispReqs())
                if let last = attempts.last, last.sorted()[2] < .seconds(1) { break }
            }
            #expect(attempts.contains { $0.sorted()[2] < .seconds(1) }, "ping latencies after the DispReq's 201: \(attempts)")
            probe.close()
            _ = await probe.closing()
        }
    }

    @Test func aPingReachesOnlyTheRecipientsConnections() async throws {
        try await Self.withServer { port, server in
            let (id, token) = try await Self.token(server)
            let (otherID, otherToken) = try await Self.token(server, for: Self.otherPharmacy)
            let mine = [WebSocketProbe(port: port, token: token), WebSocketProbe(port: port, token: token)]
            let other = WebSocketProbe(port: port, token: otherToken)
            for probe in mine { probe.send("bind: \(id)") }
            other.send("bind: \(otherID)")
            for probe in mine + [other] { #expect(await probe.text(startingWith: "bound: ") != nil) }
            await server.env.subscriptions.hub.messageArrived(for: Self.pharmacy)
            for probe in mine { #expect(await probe.text(startingWith: "ping: ")?.text == "ping: \(id)") }
            try await Task.sleep(for: .milliseconds(200))
            #expect(!other.texts.contains { $0.hasPrefix("ping") })
            for probe in mine + [other] { probe.close() }
        }
    }

    /// Unconfirmed in the FD (§6); ours: another subscription's id closes with 1008 (policy violation).
    @Test func aBindOfAnotherIdClosesWithPolicyViolation() async throws {
        try await Self.withServer { port, server in
            let (_, token) = try await Self.token(server)
            let probe = WebSocketProbe(port: port, token: token)
            probe.send("bind: \(server.env.subscriptions.pseudonyms.pseudonym(of: Self.otherPharmacy))")
            let closing = try #require(await probe.closing())
            #expect(try closing.get()?.closeCode == .policyViolation)
            #expect(!probe.texts.contains { $0.hasPrefix("bound") })
        }
    }

    @Test func A_22366_anExpiringTokenClosesTheWebsocketWith1000() async throws {
        try await Self.withServer { port, server in
            let (id, token) = try await Self.token(server, lifetime: 6)
            let probe = WebSocketProbe(port: port, token: token)
            probe.send("bind: \(id)")
            #expect(await probe.text(startingWith: "bound: ") != nil)
            let closing = try #require(await probe.closing(timeout: .seconds(20)))
            #expect(try closing.get()?.closeCode == .normalClosure)
        }
    }

    @Test func A_22366_anUpgradeWithoutAValidTokenIsRefused401() async throws {
        try await Self.withServer { port, server in
            let (_, expired) = try await Self.token(server, lifetime: -10)
            let foreign = try await SubscriptionTokens.ephemeral().issue(
                subscriptionID: server.env.subscriptions.pseudonyms.pseudonym(of: Self.pharmacy), issued: Date(), expires: Date().addingTimeInterval(60))
            let accessToken = try await server.token(.publicPharmacy, id: Self.pharmacy.rawValue)
            for authorization in [nil, "Basic abc", "Bearer \(expired)", "Bearer \(foreign)", "Bearer \(accessToken)"] {
                let status = try Self.upgradeStatus(port: port, authorization: authorization)
                #expect(status == "HTTP/1.1 401 Unauthorized", "\(authorization?.prefix(12) ?? "none"): \(status)")
            }
            // The client library sees the refusal as a failed upgrade.
            let refused = try #require(await WebSocketProbe(port: port, token: expired).closing())
            #expect(throws: (any Error).self) { try refused.get() }
            let (_, token) = try await Self.token(server)
            #expect(try Self.upgradeStatus(port: port, path: "/elsewhere", authorization: "Bearer \(token)") == "HTTP/1.1 404 Not Found")
        }
    }

    @Test func websocketsPerSubscriptionAndInAllAreLimited() async throws {
        try await Self.withServer(limits: WebSocketLimits(maximumPerSubscription: 2, maximumConnections: 3)) { port, server in
            let (id, token) = try await Self.token(server)
            let open = [WebSocketProbe(port: port, token: token), WebSocketProbe(port: port, token: token)]
            for probe in open {
                probe.send("bind: \(id)")
                #expect(await probe.text(startingWith: "bound: ") != nil)
            }
            #expect(try Self.upgradeStatus(port: port, authorization: "Bearer \(token)") == "HTTP/1.1 429 Too Many Requests")
            let (otherID, otherToken) = try await Self.token(server, for: Self.otherPharmacy)
            let third = WebSocketProbe(port: port, token: otherToken)
            third.send("bind: \(otherID)")
            #expect(await third.text(startingWith: "bound: ") != nil)
            #expect(try Self.upgradeStatus(port: port, authorization: "Bearer \(otherToken)") == "HTTP/1.1 503 Service Unavailable")
            // A closed websocket frees its place.
            open[0].close()
            _ = await open[0].closing()
            var admitted = false
            for _ in 0..<500 where !admitted {
                try await Task.sleep(for: .milliseconds(20))
                admitted = server.env.subscriptions.hub.counts.open < 3
            }
            #expect(admitted)
            for probe in [open[1], third] { probe.close() }
        }
    }

    /// The guard's HTTP deadlines no longer apply once the connection is a websocket: a bound socket
    /// outlives the header and idle timeouts and is still pinged.
    @Test func anUpgradedConnectionOutlivesTheHTTPDeadlines() async throws {
        let connections = ConnectionLimits(idleTimeout: .seconds(1), headerTimeout: .seconds(1), bodyReadTimeout: .seconds(1))
        try await Self.withServer(connections: connections) { port, server in
            let (id, token) = try await Self.token(server)
            let probe = WebSocketProbe(port: port, token: token)
            probe.send("bind: \(id)")
            #expect(await probe.text(startingWith: "bound: ") != nil)
            try await Task.sleep(for: .milliseconds(2500))
            await server.env.subscriptions.hub.messageArrived(for: Self.pharmacy)
            #expect(await probe.text(startingWith: "ping: ") != nil)
            probe.close()
        }
    }
}
