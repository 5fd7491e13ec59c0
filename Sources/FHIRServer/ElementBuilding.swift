import FHIRModel
public import Foundation

/// Small constructors for the resources the server writes itself. Children may be given in any
/// order: the writers put them in definition order.
extension Element {
    static func primitive(_ name: String, _ value: String) -> Element {
        Element(name: name, value: value)
    }

    static func complex(_ name: String, _ children: [Element?]) -> Element {
        Element(name: name, children: children.compactMap { $0 })
    }

    static func coding(_ name: String = "coding", system: String, code: String, display: String? = nil) -> Element {
        .complex(name, [.primitive("system", system), .primitive("code", code), display.map { .primitive("display", $0) }])
    }

    static func identifier(_ name: String = "identifier", system: String, value: String, use: String? = nil) -> Element {
        .complex(name, [use.map { .primitive("use", $0) }, .primitive("system", system), .primitive("value", value)])
    }

    static func meta(profile: String, lastUpdated: Date? = nil) -> Element {
        .complex("meta", [lastUpdated.map { .primitive("lastUpdated", FHIRInstant.format($0)) }, .primitive("profile", profile)])
    }

    static func `extension`(url: String, _ value: Element) -> Element {
        .complex("extension", [.primitive("url", url), value])
    }

    static func reference(_ name: String, _ reference: String) -> Element {
        .complex(name, [.primitive("reference", reference)])
    }

    /// A Bundle entry holding `resource`.
    static func entry(fullURL: String?, resource: Element, searchMode: String? = nil) -> Element {
        .complex("entry", [
            fullURL.map { .primitive("fullUrl", $0) },
            .complex("resource", [resource]),
            searchMode.map { .complex("search", [.primitive("mode", $0)]) },
        ])
    }
}

/// FHIR `instant`s as the server writes them: UTC with milliseconds (`2025-03-02T08:25:05.123+00:00`).
public enum FHIRInstant {
    public static func format(_ date: Date) -> String {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
        let whole = Date(timeIntervalSince1970: (milliseconds / 1000).rounded(.down))
        let fraction = Int(milliseconds.truncatingRemainder(dividingBy: 1000))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
        func pad(_ value: Int?, _ width: Int = 2) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(c.year, 4))-\(pad(c.month))-\(pad(c.day))T\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second)).\(pad(fraction, 3))+00:00"
    }

    /// The whole second of `date`, without a fraction (`2025-03-02T08:25:05+00:00`): what the FD writes
    /// where its timestamps have no milliseconds (`Subscription.end`).
    public static func formatSeconds(_ date: Date) -> String {
        let text = format(Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
        return text.replacingOccurrences(of: ".000+", with: "+")
    }
}
