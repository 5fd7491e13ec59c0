import FHIRFormats
import FHIRModel
import Foundation
import Testing

/// The public gematik corpus in `../shared/fixtures`: every file converts to its own format and back to
/// the same content, and every twin marked `identical primitive values` converts into the other.
@Suite(.enabled(if: Locations.sharedFixtures != nil, "../shared/fixtures is absent: corpus tests skipped"))
struct CorpusRoundTripTests {
    struct Row {
        var file: String
        var format: FHIRFormat
        var expected: String
        var twin: String
        var note: String
    }

    /// Files the strict reader refuses, each for a reason the input really has.
    static let knownRefusals: [String: String] = [
        "conformance/task/api2023-07-01-erp_bereitstellen-01_response_taskCreate.xml":
            "meta/source comes after meta/profile; XML order must follow the definition",
        "conformance/bundle/api2023-07-01-erp_abrufen-09_response_taskClose.xml":
            "Bundle.signature.data is not base64",
        "conformance/bundle/e2etest-invalid-erp-AuditEventBundle.json":
            "marked invalid: Reference has no element 'status'",
        "conformance/bundle/e2etest-invalid-invalid_bundle_type.xml": "marked invalid: an empty <meta/> element",
        "conformance/bundle/e2etest-invalid-no_profiles_bundle.xml": "marked invalid: an empty <meta/> element",
    ]

    static func rows() throws -> [Row] {
        guard let shared = Locations.sharedFixtures else { return [] }
        let manifest = try String(contentsOf: shared.appendingPathComponent("MANIFEST.tsv"), encoding: .utf8)
        return manifest.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 10, fields[0].hasPrefix("conformance/"), let format = FHIRFormat(rawValue: fields[4]) else {
                return nil
            }
            return Row(file: fields[0], format: format, expected: fields[7], twin: fields[8], note: fields[9])
        }
    }

    static func sameContent(_ original: [UInt8], _ written: [UInt8], format: FHIRFormat) -> Bool {
        switch format {
        case .json: (try? JSONValue.parse(original)) == (try? JSONValue.parse(written))
        case .xml: XMLTree.parse(original) != nil && XMLTree.parse(original) == XMLTree.parse(written)
        }
    }

    @Test("every corpus file round-trips in its own format (≥ 99 %, exceptions listed)")
    func roundTrip() throws {
        let rows = try Self.rows()
        #expect(rows.count == 810)
        var refused: [String: String] = [:]
        var differing: [String] = []
        for row in rows {
            let original = try Locations.bytes(Locations.sharedFixtures!.appendingPathComponent(row.file))
            do {
                let decoded = try row.format.read(original)
                let written = try row.format.write(decoded.resource)
                if !Self.sameContent(original, written, format: row.format) { differing.append(row.file) }
                // And again from our own output: writing is stable.
                let again = try row.format.write(try row.format.read(written).resource)
                if again != written { differing.append(row.file + " (second pass)") }
            } catch {
                refused[row.file] = error.issue.summary
            }
        }
        #expect(differing.isEmpty, "content changed: \(differing)")
        let unexpected = refused.filter { Self.knownRefusals[$0.key] == nil }
        #expect(unexpected.isEmpty, "refused: \(unexpected)")
        let stale = Self.knownRefusals.keys.filter { refused[$0] == nil }
        #expect(stale.isEmpty, "listed as refused but accepted now: \(stale)")
        let passed = rows.count - refused.count - differing.count
        #expect(Double(passed) / Double(rows.count) >= 0.99)
    }

    @Test("twins with identical primitive values convert into each other exactly")
    func twins() throws {
        let shared = Locations.sharedFixtures!
        let pairs = try Self.rows().filter { $0.format == .json && $0.note.contains("identical primitive values") }
        #expect(pairs.count == 145)
        var failures: [String] = []
        for pair in pairs {
            let twinFile = (pair.file as NSString).deletingLastPathComponent + "/" + pair.twin
            let json = try Locations.bytes(shared.appendingPathComponent(pair.file))
            let xml = try Locations.bytes(shared.appendingPathComponent(twinFile))
            do {
                let fromJSON = try FHIRFormat.json.read(json).resource
                let fromXML = try FHIRFormat.xml.read(xml).resource
                let asXML = try FHIRFormat.xml.write(fromJSON)
                let asJSON = try FHIRFormat.json.write(fromXML)
                // Narrative is compared apart: the twins' XHTML differs in formatting, not content.
                if XMLTree.parse(asXML, ignoringNarrative: true) != XMLTree.parse(xml, ignoringNarrative: true) {
                    failures.append("\(pair.file) → XML")
                }
                if try JSONValue.parse(asJSON).withoutNarrative() != JSONValue.parse(json).withoutNarrative() {
                    failures.append("\(twinFile) → JSON")
                }
            } catch {
                failures.append("\(pair.file): \((error as? FHIRFormatError)?.issue.summary ?? "\(error)")")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
