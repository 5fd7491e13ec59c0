import ArgumentParser

/// The `erx` command: the e-prescription dispensing facade and its tools.
@main
struct Erx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erx",
        abstract: "An e-prescription dispensing facade speaking FHIR R4 (JSON and XML).",
        subcommands: [ConvertCommand.self, ValidateCommand.self]
    )
}
