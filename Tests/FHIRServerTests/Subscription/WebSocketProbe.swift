import FHIRServer
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// A websocket client as a pharmacy's would be (hummingbird-websocket's `WebSocketClient`): it
/// connects with a bearer token, sends what the test tells it, and records every text it receives
/// with the moment it arrived.
final class WebSocketProbe: Sendable {
    /// Every text received and when, shared with the connection's task.
    final class Record: Sendable {
        let entries = Mutex<[(text: String, at: ContinuousClock.Instant)]>([])
        func append(_ text: String, _ at: ContinuousClock.Instant) { entries.withLock { $0.append((text, at)) } }
    }

    private let received = Record()
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<WebSocketCloseFrame?, any Error>

    init(port: Int, path: String = "/subscription", token: String?) {
        let (outgoingTexts, outgoing) = AsyncStream<String>.makeStream()
        self.outgoing = outgoing
        var configuration = WebSocketClientConfiguration()
        if let token { configuration.additionalHeaders[.authorization] = "Bearer \(token)" }
        var logger = Logger(label: "probe")
        logger.logLevel = .critical
        let received = self.received
        task = Task {
            try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)\(path)", configuration: configuration, logger: logger) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        defer { outgoing.finish() }
                        for try await message in inbound.messages(maxSize: 1 << 14) {
                            guard case .text(let text) = message else { continue }
                            let now = ContinuousClock.now
                            received.append(text, now)
                        }
                    }
                    for await text in outgoingTexts { try await outbound.write(.text(text)) }
                    group.cancelAll()
                }
            }
        }
    }

    func send(_ text: String) { outgoing.yield(text) }

    /// Ends the connection from the client's side (a normal close).
    func close() { outgoing.finish() }

    /// The first text frame starting with `prefix` (after `skipping` earlier ones), waiting up to `timeout`.
    func text(startingWith prefix: String, skipping: Int = 0, timeout: Duration = .seconds(10)) async -> (text: String, at: ContinuousClock.Instant)? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let matching = received.entries.withLock { $0.filter { $0.text.hasPrefix(prefix) } }
            if matching.count > skipping { return matching[skipping] }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return nil
    }

    var texts: [String] { received.entries.withLock { $0.map(\.text) } }

    /// How the connection ended: the server's close frame, or the error (a refused upgrade).
    func closing(timeout: Duration = .seconds(5)) async -> Result<WebSocketCloseFrame?, any Error>? {
        await withTaskGroup(of: Result<WebSocketCloseFrame?, any Error>?.self) { group in
            group.addTask { await self.task.result }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
