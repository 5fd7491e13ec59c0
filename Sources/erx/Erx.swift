import ArgumentParser

/// The `erx` command: the e-prescription dispensing facade and its tools.
@main
struct Erx: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erx",
        abstract: "An e-prescription dispensing facade speaking FHIR R4 (JSON and XML).",
        subcommands: [ServeCommand.self, TokenCommand.self, ConvertCommand.self, ValidateCommand.self, RegistrySimCommand.self, OutboxCommand.self]
    )
}
