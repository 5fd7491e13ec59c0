import FHIRFormats
import FHIRModel
public import Foundation

/// The seed corpus of each target, made at run time from fixture folders (our own `fixtures/` and
/// `profiles/`, and `../shared/fixtures` when present) into a git-ignored folder: nothing is copied
/// into the repository.
public enum SeedCorpus {
    /// Writes the seeds of `target` made from the files under `sources` into `directory`; returns how many.
    @discardableResult
    public static func write(_ target: FuzzTarget, from sources: [URL], to directory: URL, maximumSize: Int) throws -> Int {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Expressions are short even in big profile files; other seeds are whole files.
        let files = sources.flatMap(Self.files(under:)).filter { target == .fhirpath || size(of: $0) <= maximumSize }
        let seeds: [[UInt8]] = switch target {
        case .json, .validator: files.filter { $0.pathExtension == "json" }.compactMap(bytes(of:))
        case .xml: files.filter { $0.pathExtension == "xml" }.compactMap(bytes(of:))
        case .fhirpath: Set(files.filter { $0.pathExtension == "json" }.flatMap(expressions(in:))).sorted().map { Array($0.utf8) }
        case .request: requestSeeds(bodies: files.filter { $0.pathExtension == "json" || $0.pathExtension == "xml" })
        case .vau: vauSeeds(bodies: files.filter { $0.pathExtension == "json" }.compactMap(bytes(of:)).prefix(20))
        }
        var written = Set<String>()
        for seed in seeds where seed.count <= maximumSize {
            // FNV-1a: the same seed gets the same name in every run.
            let hash = seed.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
            let name = String(format: "seed-%016llx", hash)
            guard written.insert(name).inserted else { continue }
            try Data(seed).write(to: directory.appendingPathComponent(name))
        }
        return written.count
    }

    /// `p`s as a client builds them: a GET, and POSTs of fixture bodies, plainly and chunked.
    static func vauSeeds(bodies: some Sequence<[UInt8]>) -> [[UInt8]] {
        let prefix = Array("1 eyJhbGciOiJCUDI1NlIxIn0.e30.AAAA 0123456789abcdef0123456789abcdef 00112233445566778899aabbccddeeff ".utf8)
        var seeds = [prefix + Array("GET /Task?status=ready HTTP/1.1\r\nHost: erx\r\nAuthorization: Bearer eyJhbGciOiJCUDI1NlIxIn0.e30.AAAA\r\n\r\n".utf8)]
        for body in bodies {
            let head = "POST /Task/160.000.000.000.000.01/$dispense?secret=00 HTTP/1.1\r\nHost: erx\r\nContent-Type: application/fhir+json\r\n"
            seeds.append(prefix + Array((head + "Content-Length: \(body.count)\r\n\r\n").utf8) + body)
            seeds.append(prefix + Array((head + "Transfer-Encoding: chunked\r\n\r\n" + String(body.count, radix: 16) + "\r\n").utf8) + body + Array("\r\n0\r\n\r\n".utf8))
        }
        return seeds
    }

    /// Request inputs: every route with no payload, the query routes with typical queries, and the body
    /// routes with every fixture body that names the resource they take.
    static func requestSeeds(bodies: [URL]) -> [[UInt8]] {
        var seeds: [[UInt8]] = []
        let json: UInt8 = 0b0101  // Content-Type from the body, Accept: application/fhir+json
        for (index, route) in RequestTarget.routes.enumerated() {
            let head = [UInt8(index), json]
            seeds.append(head)
            let key = route.path.split(separator: "?").first.map(String.init) ?? ""
            switch route.payload {
            case .query:
                for query in queries[key] ?? ["_format=xml"] {
                    seeds.append(head + Array(query.utf8))
                }
            case .body:
                var routeBodies = (made[key] ?? []).compactMap { try? FHIRFormat.json.write($0) }
                routeBodies += bodies.filter { file in (bodyNames[key] ?? []).contains { file.lastPathComponent.contains($0) } }
                    .compactMap(bytes(of:)).map(personalized)
                for body in routeBodies {
                    seeds.append(head + body)
                    if let tree = try? FHIRFormat.json.read(body).resource, let xml = try? FHIRFormat.xml.write(tree) {
                        seeds.append([UInt8(index), 0b1010] + xml)  // Content-Type and Accept XML
                    }
                }
            }
        }
        return seeds
    }

    static let queries: [String: [String]] = [
        "/MedicationDispense": [
            "identifier=https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId|160.000.000.000.001.06",
            "whenhandedover=ge2026-10-01&whenhandedover=lt2026-11-01&_count=2&__offset=1",
            "_count=100&__offset=0&_format=xml",
        ],
        "/Task": ["_format=json", "_format=application/fhir+xml"],
        "/Consent": ["category=medication", "category=erp-submission"],
        "/metadata": ["_format=xml", "mode=full"],
    ]

    /// Which fixture file names fit which body route (by path before the query).
    static let bodyNames: [String: [String]] = [
        "/Task/{id}/$dispense": ["dispense"], "/Task/{id}/$close": ["close"],
    ]

    /// Bodies made here for the routes no fixture file fits.
    static let made: [String: [Element]] = [
        "/Task/$create": [RequestBodies.createParameters],
        "/Task/{id}/$activate?ac={ac}": [RequestBodies.prescription(id: "{{id}}", kvnr: RequestHarness.kvnr)],
        "/Consent": [RequestBodies.consent(kvnr: RequestHarness.kvnr)],
    ]

    /// Fixture bodies made out for the harness: its KVNR and pharmacy, and `{{id}}` for the task.
    static func personalized(_ data: [UInt8]) -> [UInt8] {
        var text = String(decoding: data, as: UTF8.self)
        text = text.replacing(/160\.\d{3}\.\d{3}\.\d{3}\.\d{3}\.\d{2}/, with: "{{id}}")
            .replacing(/"[A-Z]\d{9}"/, with: "\"\(RequestHarness.kvnr)\"")
            .replacing(/3-SMC-B-Testkarte-\d+/, with: RequestHarness.pharmacyTelematikID)
        return Array(text.utf8)
    }

    /// Every string under an `expression` key (constraints, invariants) of a JSON file.
    static func expressions(in file: URL) -> [String] {
        guard let data = try? Data(contentsOf: file), let root = try? JSONSerialization.jsonObject(with: data) else { return [] }
        var found: [String] = []
        func walk(_ node: Any) {
            if let object = node as? [String: Any] {
                for (key, value) in object {
                    if key == "expression", let text = value as? String { found.append(text) } else { walk(value) }
                }
            } else if let array = node as? [Any] {
                array.forEach(walk)
            }
        }
        walk(root)
        return found
    }

    static func files(under url: URL) -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [url] }
        let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.isRegularFileKey])
        return (enumerator?.allObjects as? [URL] ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.path < $1.path }
    }

    static func size(of file: URL) -> Int {
        (try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? Int.max
    }

    static func bytes(of file: URL) -> [UInt8]? {
        (try? Data(contentsOf: file)).map { Array($0) }
    }
}
