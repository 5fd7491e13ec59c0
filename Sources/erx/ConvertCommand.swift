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

    @OptionGroup var size: InputSizeOptions

    @Argument(help: "The input file, or - for standard input.")
    var input: String

    func run() throws {
        let resource: Element
        do {
            resource = try read()
        } catch let problem as CommandInput.Problem {
            try fail(problem.issue)
        } catch let error as FHIRFormatError {
            try fail(error.issue)
        }
        var written = false
        do {
            // Streamed: the output is never held whole beside the tree.
            try to.format.write(resource, pretty: pretty) { (bytes) throws(FHIRFormatError) in
                written = true
                try StandardOutput.write(bytes)
            }
        } catch {
            // Part of the document may be out already; the outcome starts on a line of its own.
            if written { try? StandardOutput.write(Array("\n".utf8)) }
            try fail(error.issue)
        }
    }

    /// The decoded tree, in a function of its own so the input bytes are released before writing.
    private func read() throws -> Element {
        let source = try CommandInput(input, maxBytes: size.maxBytes)
        let decoded = try source.decode(lenient: lenient, maxBytes: size.maxBytes)
        for warning in decoded.warnings {
            FileHandle.standardError.write(Data((warning.summary + "\n").utf8))
        }
        return decoded.resource
    }

    /// Prints the OperationOutcome and exits with status 1.
    private func fail(_ issue: OperationOutcome.Issue) throws -> Never {
        let outcome = OperationOutcome(issues: [issue]).element
        if let json = try? FHIRJSONWriter(pretty: true).write(outcome) {
            try? StandardOutput.write(json)
        }
        throw ExitCode(1)
    }
}
