import ArgumentParser
import FHIRFormats
import FHIRModel
import Foundation

/// `erx convert`: reads one FHIR resource (JSON or XML, detected from the content) and writes it in the
/// requested format. Bad input ends with a non-zero exit and an OperationOutcome (JSON) on stdout.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a FHIR resource between JSON and XML."
    )

    /// The output format as the command line spells it.
    enum OutputFormat: String, ExpressibleByArgument {
        case json, xml
        var format: FHIRFormat { self == .json ? .json : .xml }
    }

    @Option(help: "Output format: json or xml.")
    var to: OutputFormat

    @Flag(help: "Indent the output.")
    var pretty = false

    @Flag(help: "Drop or repair recoverable problems (reported as warnings on stderr) instead of failing.")
    var lenient = false

    @Argument(help: "The input file, or - for standard input.")
    var input: String

    func run() throws {
        let source: CommandInput
        do {
            source = try CommandInput(input)
        } catch {
            try fail(error.issue)
        }
        do {
            let decoded = try source.format.read(source.bytes, options: lenient ? .lenient : .strict)
            for warning in decoded.warnings {
                FileHandle.standardError.write(Data((warning.summary + "\n").utf8))
            }
            let output = try to.format.write(decoded.resource, pretty: pretty)
            FileHandle.standardOutput.write(Data(output))
        } catch {
            try fail(error.issue)
        }
    }

    /// Prints the OperationOutcome and exits with status 1.
    private func fail(_ issue: OperationOutcome.Issue) throws -> Never {
        let outcome = OperationOutcome(issues: [issue]).element
        if let json = try? FHIRJSONWriter(pretty: true).write(outcome) {
            FileHandle.standardOutput.write(Data(json))
        }
        throw ExitCode(1)
    }
}
