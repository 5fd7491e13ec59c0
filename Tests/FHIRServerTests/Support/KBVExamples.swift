import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import FHIRValidation
import Foundation

/// The official KBV prescription examples and packages of `../shared` (never copied into the
/// project), and how the tests post them at `$activate`: the bundle, its PrescriptionID rewritten
/// to the task's, in a Parameters `ePrescription` Binary of type `application/fhir+xml`/`+json`
/// (the server runs with `--accept-unsigned`).
enum KBVExamples {
    static let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    /// The production set-up: our profiles and every official package (`../shared/fixtures/definitions`),
    /// loaded once per test process (``AnswerValidator``); `nil` without `../shared`.
    static var validator: ProfileValidator? { AnswerValidator.packagesAvailable ? AnswerValidator.validator : nil }

    /// Windows that judge no version by date: the examples carry dates of their time.
    static func validation(windows: ProfileVersionWindows = ProfileVersionWindows(windows: [])) async -> PrescriptionValidation? {
        guard AnswerValidator.packagesAvailable else { return nil }
        await AnswerValidator.loaded()
        return validator.map { PrescriptionValidation(validator: $0, windows: windows) }
    }

    struct Row: Sendable, CustomStringConvertible {
        let file: String
        let expected: String
        var description: String { (file as NSString).lastPathComponent }
    }

    /// The manifest's `KBV_PR_ERP_Bundle` files marked `valid` or `invalid`.
    static var rows: [Row] {
        guard let manifest = try? String(contentsOf: shared.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8) else { return [] }
        return manifest.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 7, fields[6].contains("/KBV_PR_ERP_Bundle"), fields[7] == "valid" || fields[7] == "invalid" else { return nil }
            return Row(file: fields[0], expected: fields[7])
        }
    }

    struct EditNotFound: Error, CustomStringConvertible {
        let text: String
        var description: String { "edit not found in the example: \(text)" }
    }

    /// The example as a tree, after textual edits of its file (each must apply). In XML the
    /// whitespace between tags is dropped first, so edits read `<numerator><value value="1" />`.
    static func bundle(_ file: String, edits: [(String, String)] = []) throws -> Element {
        var text = try String(contentsOf: shared.appendingPathComponent(file), encoding: .utf8)
        if file.hasSuffix(".xml") { text = text.replacingOccurrences(of: #">\s+<"#, with: "><", options: .regularExpression) }
        for (old, new) in edits {
            guard text.contains(old) else { throw EditNotFound(text: old) }
            text = text.replacingOccurrences(of: old, with: new)
        }
        let bytes = Array(text.utf8)
        guard let format = FHIRFormat.sniff(bytes) else { throw EditNotFound(text: "a FHIR format") }
        return try format.read(bytes).resource
    }

    /// The flow type the prescription is for: its PrescriptionID's prefix, except that KBV's
    /// examples number PKV prescriptions as 160 too: a PKV coverage makes it 200.
    static func flowType(of bundle: Element) -> Int {
        let prefix = bundle.child("identifier")?.value(of: "value").flatMap { Int($0.prefix(3)) } ?? 160
        let pkv = KBVPrescriptionView(bundle).resources("Coverage").contains { KBVCoverage($0.resource, path: $0.path).typeCode == "PKV" }
        return prefix == 160 && pkv ? 200 : prefix
    }

    /// The bundle made out for the task `id`.
    static func withID(_ bundle: Element, _ id: String) -> Element {
        var bundle = bundle
        guard let index = bundle.children.firstIndex(where: { $0.name == "identifier" }),
              let value = bundle.children[index].children.firstIndex(where: { $0.name == "value" })
        else { return bundle }
        bundle.children[index].children[value].value = id
        return bundle
    }

    /// `$activate`'s Parameters: the bundle, written in `format`, as the `ePrescription` Binary.
    static func parameters(_ bundle: Element, format: FHIRFormat) throws -> Element {
        let data = Data(try format.write(bundle)).base64EncodedString()
        let binary = Element(name: "Binary", children: [
            .init(name: "contentType", value: format == .json ? "application/fhir+json" : "application/fhir+xml"),
            .init(name: "data", value: data),
        ])
        return .init(name: "Parameters", children: [
            .init(name: "parameter", children: [.init(name: "name", value: "ePrescription"), .init(name: "resource", children: [binary])]),
        ])
    }
}
