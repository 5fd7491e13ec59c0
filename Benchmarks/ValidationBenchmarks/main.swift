import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation

/// Validation cost of a `$dispense` body next to the cost of parsing the same bytes, measured in the
/// same run (interleaved rounds, medians). Run in release:
/// `swift run -c release erx-validation-bench [seconds-per-case]`.
///
/// Workloads: our own valid bodies (`fixtures/validation/valid/`) against our own `profiles/`, and, when
/// `../shared` is present, official IG bodies against the official packages.

let secondsPerCase = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 2 : 2
let rounds = 9
let clock = ContinuousClock()
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let shared = root.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// Microseconds per call: the median over `rounds` rounds of a calibrated number of calls.
func measure(_ bodies: [() throws -> Void]) throws -> [Double] {
    let iterations = try bodies.map { body -> Int in
        var count = 1
        while true {
            let elapsed = seconds(try clock.measure { for _ in 0..<count { try body() } })
            if elapsed > 0.02 { return max(1, Int(Double(count) * (secondsPerCase / Double(rounds)) / elapsed)) }
            count *= 2
        }
    }
    var samples = Array(repeating: [Double](), count: bodies.count)
    for _ in 0..<rounds {
        for (index, body) in bodies.enumerated() {
            let elapsed = seconds(try clock.measure { for _ in 0..<iterations[index] { try body() } })
            samples[index].append(elapsed / Double(iterations[index]) * 1e6)
        }
    }
    return samples.map { $0.sorted()[$0.count / 2] }
}

struct Workload {
    let name: String
    let file: URL
    let validator: ProfileValidator
}

var workloads: [Workload] = []
let ours = ProfileValidator(profiles: CompiledProfiles(repository: try ErxProfiles.repository()))
let ownBodies = root.appendingPathComponent("fixtures/validation/valid")
for name in ((try? FileManager.default.contentsOfDirectory(atPath: ownBodies.path)) ?? []).sorted()
where name.contains("dispense") && name.hasSuffix(".json") {
    workloads.append(Workload(name: "own \(name) / our profiles", file: ownBodies.appendingPathComponent(name), validator: ours))
}
let definitions = shared.appendingPathComponent("definitions")
if FileManager.default.fileExists(atPath: definitions.path) {
    let packages = try FileManager.default.contentsOfDirectory(atPath: definitions.path).sorted()
        .map { definitions.appendingPathComponent($0) }
    let official = ProfileValidator(profiles: CompiledProfiles(repository: try ErxProfiles.repository(adding: packages)))
    for name in ["ig-wf1.6.4-Parameters-ExampleDispenseInputParameters.json", "ig-wf1.4.3-Parameters-ExampleDispenseInputParametersMultipleMedicationDispenses.json"] {
        workloads.append(Workload(name: "\(name) / official packages",
                                  file: shared.appendingPathComponent("conformance/dispense-request/\(name)"), validator: official))
    }
}

print("erx validation benchmark: \(rounds) interleaved rounds, ~\(secondsPerCase) s per case; µs per call (median)")
print()
print("| body | bytes | JSON parse µs | validate µs | validate ÷ parse (≤ 2) | errors |")
print("|---|---|---|---|---|---|")
for workload in workloads {
    let bytes = Array(try Data(contentsOf: workload.file))
    let resource = try FHIRJSONReader().read(bytes).resource
    let outcome = workload.validator.validate(resource)  // also compiles the profiles before timing
    let errors = outcome.issues.filter { $0.severity == .error }.count
    // ERX_BENCH_ONLY=validate times validation alone (for profilers).
    let parseOnly = ProcessInfo.processInfo.environment["ERX_BENCH_ONLY"] == "validate" ? {} : { _ = try FHIRJSONReader().read(bytes) }
    let times = try measure([
        parseOnly,
        { _ = workload.validator.validate(resource) },
    ])
    print("| \(workload.name) | \(bytes.count) | \(String(format: "%.1f", times[0])) | \(String(format: "%.1f", times[1])) | \(String(format: "%.2f×", times[1] / times[0])) | \(errors) |")
}

// Validation time against body size (issue 19): the two-dispensation body with its first
// MedicationDispense holding n dosage instructions of ~900 characters each, up to about 1 MiB. The
// dosage invariants iterate over all of a resource's dosages; linear means µs per KB stays flat.
print()
print("| dosage instructions | bytes | JSON parse µs | validate µs | validate µs per KB |")
print("|---|---|---|---|---|")
let template = try FHIRJSONReader().read(Array(try Data(contentsOf: ownBodies.appendingPathComponent("dispense-1.6-two.json")))).resource
func withDosages(_ count: Int, in element: Element, done: inout Bool) -> Element {
    var copy = element
    if !done, copy.name == "MedicationDispense", let first = copy.children.firstIndex(where: { $0.name == "dosageInstruction" }) {
        done = true
        let text = String(repeating: "1-0-1 ", count: 150)
        let dosage = Element(name: "dosageInstruction", children: [Element(name: "text", value: text)])
        copy.children.removeAll { $0.name == "dosageInstruction" }
        copy.children.insert(contentsOf: Array(repeating: dosage, count: count), at: first)
        return copy
    }
    copy.children = copy.children.map { withDosages(count, in: $0, done: &done) }
    return copy
}
for count in [10, 100, 250, 500, 1_000] {
    var done = false
    let bytes = try FHIRFormat.json.write(withDosages(count, in: template, done: &done))
    let resource = try FHIRJSONReader().read(bytes).resource
    _ = ours.validate(resource)
    let times = try measure([{ _ = try FHIRJSONReader().read(bytes) }, { _ = ours.validate(resource) }])
    print("| \(count) | \(bytes.count) | \(String(format: "%.0f", times[0])) | \(String(format: "%.0f", times[1])) | \(String(format: "%.1f", times[1] / (Double(bytes.count) / 1024))) |")
}
