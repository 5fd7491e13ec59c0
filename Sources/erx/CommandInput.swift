import FHIRFormats
import FHIRModel
import Foundation

/// The one FHIR document a command reads: a file, or `-` for standard input, its format told by its
/// content. Shared by `erx convert` and `erx validate`, so both refuse unreadable input alike.
struct CommandInput {
    let bytes: [UInt8]
    let format: FHIRFormat

    /// Why there is no input to work on, as the issue the command reports.
    struct Problem: Error {
        let issue: OperationOutcome.Issue
    }

    init(_ input: String) throws(Problem) {
        do {
            bytes = input == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile())
                : Array(try Data(contentsOf: URL(fileURLWithPath: input)))
        } catch {
            throw Problem(issue: OperationOutcome.Issue(code: .notFound, text: "Cannot read input '\(input)'"))
        }
        guard let format = FHIRFormat.sniff(bytes) else {
            throw Problem(issue: OperationOutcome.Issue(code: .structure, text: "The input is neither FHIR JSON nor FHIR XML"))
        }
        self.format = format
    }
}
