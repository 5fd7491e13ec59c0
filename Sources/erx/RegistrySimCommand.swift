import ArgumentParser
import Foundation
import Hummingbird
import Logging
import RegistrySimulator
import ServiceLifecycle
import UnixSignals

/// `erx registry-sim`: a stand-in for the national registry (consent decisions and the ePA
/// medication service's `*-erp` operations) on loopback, with faults switched through `/_sim/faults`.
/// For testing the outbox relay over real HTTP; it holds everything in memory. It is also a webhook
/// receiver (issue 23, item 3): `POST /hook/{name}` records each delivery once per
/// `Idempotency-Key` after checking its `X-Erx-Signature` against the secret registered with
/// `PUT /_sim/hook/secrets/{subscription id}`; `POST /_sim/hook/faults` (`errorRate`,
/// `lostAnswerRate`) makes it fail, `GET /_sim/hook/received` shows what arrived.
struct RegistrySimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "registry-sim", abstract: "Run the registry simulator.")

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0: any free port).")
    var port = 8090

    @Option(name: .customLong("profiles"), help: ArgumentHelp(
        "A directory of official FHIR packages (or a folder of them); repeatable. Every operation's body must then conform to its ePA input profile, else 400.",
        valueName: "DIR"))
    var profileDirectories: [String] = []

    @Flag(help: "Log one line per request (off by default: the simulator also serves load benchmarks).")
    var verbose = false

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "registry-sim")
        logger.logLevel = verbose ? .info : .warning
        // Loaded and compiled before listening: a request never waits for it, and a package that
        // cannot be used stops the start.
        var validation: PayloadValidation?
        if !profileDirectories.isEmpty {
            do {
                validation = try PayloadValidation(profileDirectories: profileDirectories.map { URL(fileURLWithPath: $0) })
            } catch let error as PayloadValidation.SetupError {
                throw ValidationError("--profiles: \(error.description)")
            }
            for line in validation?.coverage ?? [] { FileHandle.standardError.write(Data("registry-sim validates \(line)\n".utf8)) }
        }
        let app = RegistrySimulator.application(validation: validation, host: host, port: port, logger: logger) { channel in
            let port = channel.localAddress?.port ?? port
            // Written unbuffered: scripts wait for this line to learn the port.
            FileHandle.standardOutput.write(Data("registry-sim listening on http://\(host):\(port)\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
