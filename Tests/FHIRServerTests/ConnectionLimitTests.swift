import FHIRServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 19, item 3, over real sockets on loopback: a connection that never finishes its header,
/// sits idle, stalls its body or declares a huge one is answered or closed in bounded time, and
/// connections beyond the cap are refused with a 503 while the others are served.
@Suite(.serialized) struct ConnectionLimitTests {
    static let limits = ConnectionLimits(idleTimeout: .milliseconds(600), headerTimeout: .milliseconds(400),
                                         bodyReadTimeout: .milliseconds(400), maximumConnections: 3)

    /// Runs a server with `limits` on a free port for the duration of `body`.
    private func withServer(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let app = ErxServer.application(server.env, verifier: server.verifier, host: "127.0.0.1", port: 0, logger: logger,
                                        connections: Self.limits) { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
            group.addTask { try await serviceGroup.run() }
            var ports = stream.makeAsyncIterator()
            let port = await ports.next() ?? 0
            try await body(port)
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// A blocking loopback socket with a receive timeout.
    final class Connection {
        let socket: Int32

        init(port: Int) throws {
            socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(socket) }

        func send(_ text: String) {
            _ = text.withCString { Glibc.send(socket, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        }

        /// Everything until the peer closes (or 5 s pass), and how long that took.
        func readToClose() -> (text: String, seconds: Double) {
            let start = ContinuousClock.now
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                bytes += buffer[0..<count]
            }
            let elapsed = ContinuousClock.now - start
            return (String(decoding: bytes, as: UTF8.self), Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }

    @Test func anUnfinishedHeaderIsAnswered408AndClosed() async throws {
        try await withServer { port in
            let connection = try Connection(port: port)
            connection.send("GET /health/live HTTP/1.1\r\nHost: x\r\n")
            let (text, seconds) = connection.readToClose()
            #expect(text.hasPrefix("HTTP/1.1 408"))
            #expect(seconds < 3)
        }
    }

    @Test func anIdleConnectionIsClosed() async throws {
        try await withServer { port in
            let connection = try Connection(port: port)
            let (text, seconds) = connection.readToClose()
            #expect(text.isEmpty)
            #expect(seconds < 3)
        }
    }

    @Test func aStalledBodyIsClosed() async throws {
        try await withServer { port in
            let connection = try Connection(port: port)
            connection.send("POST /Task/$create HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n{\"res")
            let (_, seconds) = connection.readToClose()
            #expect(seconds < 3)
        }
    }

    /// `Content-Length: 10 GiB` is refused at once: 413, an OperationOutcome, and the connection
    /// closed without reading the body.
    @Test func aHugeDeclaredBodyIsRefused413AtOnce() async throws {
        try await withServer { port in
            let connection = try Connection(port: port)
            connection.send("POST /Task/160.000.000.000.000.01/$dispense HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nContent-Length: 10737418240\r\n\r\n{")
            let (text, seconds) = connection.readToClose()
            #expect(text.hasPrefix("HTTP/1.1 413"))
            #expect(text.contains("OperationOutcome"))
            #expect(seconds < 1)
        }
    }

    /// Beyond the cap: 503 at once; the connections held still get their answers.
    @Test func connectionsBeyondTheCapAreRefused503() async throws {
        try await withServer { port in
            let held = try (0..<3).map { _ in try Connection(port: port) }
            try await Task.sleep(for: .milliseconds(100))
            let refused = try Connection(port: port)
            #expect(refused.readToClose().text.hasPrefix("HTTP/1.1 503"))
            held[0].send("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(held[0].readToClose().text.hasPrefix("HTTP/1.1 200"))
        }
    }
}
