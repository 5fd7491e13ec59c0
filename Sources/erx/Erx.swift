import ArgumentParser
import Foundation

/// The `erx` command: the e-prescription dispensing facade and its tools.
@main
struct Erx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erx",
        abstract: "An e-prescription dispensing facade speaking FHIR R4 (JSON and XML).",
        subcommands: [ServeCommand.self, TokenCommand.self, ConvertCommand.self, ValidateCommand.self, RegistrySimCommand.self, OutboxCommand.self, MigrateCommand.self,
                      DevPKICommand.self, SignPrescriptionCommand.self, EGKProofCommand.self, VAURequestCommand.self]
    )

    /// Parses as ArgumentParser does, with `serve`'s `ERX_…` variables added first.
    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "serve" {
            arguments = ["serve"] + ServeEnvironment.merged(Array(arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
