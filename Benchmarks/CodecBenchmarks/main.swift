import FHIRFormats
import FHIRModel
import Foundation

/// Codec throughput in MB/s, with the baselines measured in the same run and interleaved with our
/// cases, so that machine noise hits both sides of each ratio alike. Run in release:
/// `swift run -c release erx-bench [seconds-per-case]`.

struct Case {
    var label: String
    var bytes: Int
    var body: () throws -> Void
    var samples: [Double] = []
    var median: Double { samples.sorted()[samples.count / 2] }
}

let secondsPerCase = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 2 : 2
let rounds = 9
let clock = ContinuousClock()

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// Iterations so that one round of this case takes about secondsPerCase / rounds.
func calibrate(_ body: () throws -> Void) rethrows -> Int {
    var iterations = 1
    while true {
        let elapsed = try clock.measure { for _ in 0..<iterations { try body() } }
        if seconds(elapsed) > 0.02 {
            return max(1, Int(Double(iterations) * (secondsPerCase / Double(rounds)) / seconds(elapsed)))
        }
        iterations *= 2
    }
}

print("erx codec benchmark: \(rounds) interleaved rounds, ~\(secondsPerCase) s per case; MB/s = 10^6 bytes of the document per second")
print()
print("| document | bytes (JSON / XML) | JSONSerialization parse | our JSON parse | our JSON serialize | libxml2 SAX2 parse | libxml2 DOM parse | our XML parse | our XML serialize |")
print("|---|---|---|---|---|---|---|---|---|")
var summary: [(String, [Double])] = []
for workload in try Workload.all() {
    let jsonData = Data(workload.json)
    Baselines.elementCount = 0
    Baselines.libxml2SAX2(workload.xml)
    // Start tags = every `<` except the XML declaration's and the closing tags' (the narrative-free documents have no others).
    let tags = workload.xml.filter { $0 == UInt8(ascii: "<") }.count
    let closing = zip(workload.xml, workload.xml.dropFirst()).filter { $0 == (UInt8(ascii: "<"), UInt8(ascii: "/")) }.count
    guard Baselines.elementCount == tags - 1 - closing else {
        fatalError("libxml2 baseline saw \(Baselines.elementCount) elements, the document has \(tags - 1 - closing)")
    }
    var cases = [
        Case(label: "JSONSerialization", bytes: workload.json.count) { try Baselines.jsonSerialization(jsonData) },
        Case(label: "JSON parse", bytes: workload.json.count) { _ = try FHIRJSONReader().read(workload.json) },
        Case(label: "JSON serialize", bytes: workload.json.count) { _ = try FHIRJSONWriter().write(workload.resource) },
        Case(label: "libxml2 SAX2", bytes: workload.xml.count) { Baselines.libxml2SAX2(workload.xml) },
        Case(label: "libxml2 DOM", bytes: workload.xml.count) { Baselines.libxml2DOM(workload.xml) },
        Case(label: "XML parse", bytes: workload.xml.count) { _ = try FHIRXMLReader().read(workload.xml) },
        Case(label: "XML serialize", bytes: workload.xml.count) { _ = try FHIRXMLWriter().write(workload.resource) },
    ]
    // ERX_BENCH_ONLY="XML parse" runs one case alone (for profilers); the tables then show only that case.
    if let only = ProcessInfo.processInfo.environment["ERX_BENCH_ONLY"] {
        for index in cases.indices where cases[index].label != only { cases[index].body = {} }
    }
    let iterations = try cases.map { try calibrate($0.body) }
    for _ in 0..<rounds {
        for index in cases.indices {
            let body = cases[index].body
            let elapsed = try clock.measure { for _ in 0..<iterations[index] { try body() } }
            cases[index].samples.append(Double(cases[index].bytes * iterations[index]) / seconds(elapsed) / 1e6)
        }
    }
    let speeds = cases.map(\.median)
    let cells = speeds.map { String(format: "%.1f", $0) }.joined(separator: " | ")
    print("| \(workload.name) | \(workload.json.count) / \(workload.xml.count) | \(cells) |")
    summary.append((workload.name, speeds))
}
print()
print("| document | JSON parse ÷ JSONSerialization (≥ 4) | JSON serialize ÷ JSON parse (≥ 1) | XML parse ÷ bare libxml2 SAX2 (≥ 0.6) | XML parse ÷ libxml2 DOM | XML serialize ÷ XML parse (≥ 1) |")
print("|---|---|---|---|---|---|")
for (name, speeds) in summary {
    let ratios = [speeds[1] / speeds[0], speeds[2] / speeds[1], speeds[5] / speeds[3], speeds[5] / speeds[4], speeds[6] / speeds[5]]
    print("| \(name) | " + ratios.map { String(format: "%.2f×", $0) }.joined(separator: " | ") + " |")
}
