import Foundation
public import FHIRFormats

import Hummingbird

/// The two FHIR formats as they travel over HTTP.
public enum WireFormat: String, Sendable, Hashable {
    case json, xml

    public var fhirFormat: FHIRFormat { self == .json ? .json : .xml }
    public var mediaType: String { self == .json ? "application/fhir+json;charset=utf-8" : "application/fhir+xml;charset=utf-8" }
}

/// Content negotiation (A_19537–A_19539 and the production service's behaviour): the request
/// format from `Content-Type`; the answer format from `_format`, then `Accept` with q-values, then a
/// default (the request body's format, else JSON for insurants and XML for institutions).
public enum ContentNegotiation {
    public enum Failure: Error, Sendable, Hashable {
        /// A body without `Content-Type`.
        case missingContentType
        /// Another media type (the `Content-Type` as sent).
        case unsupportedMediaType(contentType: String)
        /// A charset other than UTF-8 (the `Content-Type` as sent).
        case unsupportedCharset(contentType: String)
        /// Neither `_format` nor `Accept` names a format we write (the value that was asked for).
        case notAcceptable(requested: String)
    }

    /// The format of a request body. `application/fhir+json` and `application/json` (and the XML
    /// twins) are accepted; a charset parameter must be UTF-8.
    public static func requestFormat(contentType: String?) throws(Failure) -> WireFormat {
        guard let contentType, !contentType.isEmpty else { throw .missingContentType }
        let (type, parameters) = split(contentType)
        if let charset = parameters["charset"], charset.lowercased() != "utf-8" { throw .unsupportedCharset(contentType: contentType) }
        guard let format = format(ofMediaType: type, wildcards: false) else { throw .unsupportedMediaType(contentType: contentType) }
        return format
    }

    /// The format of the answer, or `notAcceptable`.
    public static func responseFormat(formatParameter: String?, accept: String?, fallback: WireFormat) throws(Failure) -> WireFormat {
        if let formatParameter {
            let value = formatParameter.lowercased()
            switch value {
            case "json", "fhir+json", "application/fhir+json", "application/json": return .json
            case "xml", "fhir+xml", "application/fhir+xml", "application/xml", "text/xml": return .xml
            default: throw .notAcceptable(requested: formatParameter)
            }
        }
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return fallback }
        var best: (format: WireFormat, quality: Double, order: Int)?
        for (order, item) in accept.split(separator: ",").enumerated() {
            let (type, parameters) = split(String(item))
            let quality = parameters["q"].flatMap(Double.init) ?? 1
            guard quality > 0 else { continue }
            let candidate: WireFormat? = type == "*/*" || type == "application/*" ? fallback : format(ofMediaType: type, wildcards: true)
            guard let candidate else { continue }
            if best == nil || quality > best!.quality { best = (candidate, quality, order) }
        }
        guard let best else { throw .notAcceptable(requested: accept) }
        return best.format
    }

    static func format(ofMediaType type: String, wildcards: Bool) -> WireFormat? {
        switch type {
        case "application/fhir+json", "application/json", "application/json+fhir": .json
        case "application/fhir+xml", "application/xml", "application/xml+fhir", "text/xml": .xml
        default: nil
        }
    }

    /// `type/subtype; name=value; …` → lowercased type and parameters.
    static func split(_ header: String) -> (type: String, parameters: [String: String]) {
        let pieces = header.split(separator: ";")
        let type = pieces.first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        var parameters: [String: String] = [:]
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let value = pair[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            parameters[pair[0].trimmingCharacters(in: .whitespaces).lowercased()] = value
        }
        return (type, parameters)
    }
}
