public import FHIRModel
public import Foundation

/// Which workflow profile versions (`1.4`, `1.5`, `1.6`) are in force on a date. The production service
/// accepts a `$dispense` body only in a profile version valid on its latest `whenHandedOver`
/// (dispense-spec.md §6.1); the windows are configuration, read from JSON:
/// `{"windows":[{"version":"1.4","from":null,"until":"2026-01-11"}, …]}` with inclusive ISO dates.
public struct ProfileVersionWindows: Sendable, Hashable, Decodable {
    public struct Window: Sendable, Hashable, Decodable {
        public let version: String
        /// First day in force, `nil` for "since always".
        public let from: String?
        /// Last day in force, `nil` for "until further notice".
        public let until: String?
    }

    public let windows: [Window]

    /// The canonical prefix of the profiles the windows govern.
    public static let workflowProfilePrefix = "https://gematik.de/fhir/erp/StructureDefinition/"

    public init(windows: [Window]) {
        self.windows = windows
    }

    public init(json: Data) throws {
        self = try JSONDecoder().decode(Self.self, from: json)
    }

    /// The versions in force on `date` (`YYYY-MM-DD`; a longer dateTime is cut to its date).
    public func versions(on date: String) -> [String] {
        let day = String(date.prefix(10))
        return windows.filter { window in
            (window.from.map { $0 <= day } ?? true) && (window.until.map { day <= $0 } ?? true)
        }.map(\.version)
    }

    /// Errors for every gematik workflow profile claimed in the tree (`meta.profile` of the resource and of
    /// the resources inside it) whose version is not in force on `date`.
    ///
    /// Every `$dispense` is checked, and nearly every one passes: so the tree is first searched for an
    /// offending profile without making paths, and the paths (`.parameter[0].part[1].resource…`) are
    /// made only to report one.
    public func check(_ resource: Element, on date: String) -> [OperationOutcome.Issue] {
        let allowed = versions(on: date)
        func offends(_ element: Element) -> Bool {
            element.child("meta")?.children.contains { $0.name == "profile" && outOfWindow($0.value, allowed: allowed) != nil } == true
                || element.containsEmbedded(where: offends)
        }
        guard offends(resource) else { return [] }
        var issues: [OperationOutcome.Issue] = []
        func visit(_ element: Element, path: String) {
            for (index, profile) in (element.child("meta")?.children(named: "profile") ?? []).enumerated() {
                guard let (name, version) = outOfWindow(profile.value, allowed: allowed) else { continue }
                issues.append(OperationOutcome.Issue(
                    code: .invalid,
                    text: "\(name) version \(version) is not in force on the date that selects the version; in force then: \(allowed.joined(separator: ", "))",
                    expression: ["\(path).meta.profile[\(index)]"]))
            }
            for embedded in element.embeddedResources { visit(embedded.resource, path: path + embedded.path) }
        }
        visit(resource, path: resource.name)
        return issues
    }

    /// The profile's name and major.minor version when `canonical` is a versioned workflow profile
    /// of a version the windows govern but not in `allowed`; `nil` for anything else.
    private func outOfWindow(_ canonical: String?, allowed: [String]) -> (name: Substring, version: String)? {
        guard let canonical, canonical.hasPrefix(Self.workflowProfilePrefix), let version = Self.majorMinor(ofCanonical: canonical),
            windows.contains(where: { $0.version == version }), !allowed.contains(version)
        else { return nil }
        let url = canonical.utf8.prefix { $0 != UInt8(ascii: "|") }
        return (canonical[url.startIndex..<url.endIndex].split(separator: "/").last ?? "", version)
    }

    /// The `major.minor` of a canonical's version: its first two dot-separated parts, empty parts
    /// skipped (`…|1.6.1` → `1.6`, `…|1.6` → `1.6`, `…|1..6` → `1.6`, `…|` → empty); `nil` without
    /// `|`. It runs for every profile of every `$dispense` body, so the usual version is read
    /// without building a list (the result fits a small string, stored without allocation).
    public static func majorMinor(ofCanonical canonical: String) -> String? {
        let utf8 = canonical.utf8
        guard let bar = utf8.firstIndex(of: UInt8(ascii: "|")) else { return nil }
        let start = utf8.index(after: bar)
        var end = start
        var dots = 0
        var previousWasDot = true  // a dot right after `|` would be an empty part
        while end < utf8.endIndex {
            let isDot = utf8[end] == UInt8(ascii: ".")
            if isDot {
                // An empty part: read it the general way, which skips empty parts.
                if previousWasDot { return canonical[start...].split(separator: ".").prefix(2).joined(separator: ".") }
                dots += 1
                if dots == 2 { break }
            }
            previousWasDot = isDot
            end = utf8.index(after: end)
        }
        if previousWasDot && end > start && dots < 2 {
            // A trailing dot (`…|1.`): an empty last part.
            return canonical[start...].split(separator: ".").prefix(2).joined(separator: ".")
        }
        return String(canonical[start..<end])
    }

    /// The latest `whenHandedOver` of the MedicationDispenses in the tree: the date that selects the version.
    public static func latestHandover(in resource: Element) -> String? {
        var latest: String?
        func visit(_ element: Element) {
            if element.name == "MedicationDispense", let date = element.value(of: "whenHandedOver").map({ String($0.prefix(10)) }),
                latest.map({ date > $0 }) ?? true
            {
                latest = date
            }
            element.forEachEmbedded(visit)
        }
        visit(resource)
        return latest
    }
}
