import ArgumentParser
import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation

/// `erx validate`: checks one FHIR resource against the profile it declares (or `--profile`), using our
/// own `profiles/` plus any official package directories, and prints the OperationOutcome. Exit 0 when
/// there is no error, 1 when there is.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a FHIR resource against its profiles and print an OperationOutcome."
    )

    @Option(help: "Validate against this profile (url or url|version) instead of the declared ones.")
    var profile: String?

    @Option(name: .customLong("profiles"), help: "A directory of official packages; repeatable. Its definitions take precedence over ours.")
    var profileDirectories: [String] = []

    @Option(help: "Apply the profile-version validity windows for this date (YYYY-MM-DD).")
    var asOf: String?

    @Option(help: "Output format of the OperationOutcome: json or xml.")
    var format: ConvertCommand.OutputFormat = .json

    @OptionGroup var size: InputSizeOptions

    @Argument(help: "The input file, or - for standard input.")
    var input: String

    func run() throws {
        let outcome = try validate()
        try StandardOutput.write(try format.format.write(outcome.element, pretty: true))
        if outcome.hasErrors { throw ExitCode(1) }
    }

    private func validate() throws -> OperationOutcome {
        let resource: Element
        do {
            resource = try CommandInput(input, maxBytes: size.maxBytes).decode(maxBytes: size.maxBytes).resource
        } catch let problem as CommandInput.Problem {
            return OperationOutcome(issues: [problem.issue])
        } catch let error as FHIRFormatError {
            return OperationOutcome(issues: [error.issue])
        }
        if let asOf, !Self.isDate(asOf) {
            throw ValidationError("--as-of must be a date (YYYY-MM-DD)")
        }
        let repository = try ErxProfiles.repository(adding: profileDirectories.map { URL(fileURLWithPath: $0) })
        let validator = ProfileValidator(profiles: CompiledProfiles(repository: repository))
        var issues = repository.problems
        if let asOf {
            issues += try ErxProfiles.workflowVersions().check(resource, on: asOf)
        }
        issues += validator.validate(resource, profile: profile).issues
        if issues.isEmpty {
            issues = [.init(severity: .information, code: .informational, text: "No issues found")]
        }
        return OperationOutcome(issues: issues)
    }

    static func isDate(_ text: String) -> Bool {
        text.utf8.count == 10 && PrimitiveType.date.isValid(text)
    }
}
