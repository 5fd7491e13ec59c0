import FHIRFormats
import FHIRValidation
import HTTPTypes
public import FHIRModel
public import Hummingbird

/// Writes resources and OperationOutcomes as HTTP responses in the negotiated format.
public enum FHIRResponse {
    public static func resource(_ element: Element, status: HTTPResponse.Status = .ok, format: WireFormat, headers: HTTPFields = [:]) throws -> Response {
        let bytes = try format.fhirFormat.write(element)
        var fields = headers
        fields[.contentType] = format.mediaType
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// An error answer. Its texts are made writable (``OperationOutcome/writable(_:limit:)``), so
    /// writing cannot fail on what the input held; should it fail anyway, the answer is the fixed
    /// 500 OperationOutcome in the same format, and failing that, in JSON from fixed bytes: an error
    /// answer is always an OperationOutcome (issue 19).
    static func answer(_ answer: ErrorSeam.Answer, format: WireFormat) -> Response {
        if let response = try? resource(answer.outcome.element, status: answer.status, format: format, headers: answer.headers) {
            return response
        }
        if let response = try? resource(ErrorSeam.internalError().outcome.element, status: .internalServerError, format: format) {
            return response
        }
        return Response(status: .internalServerError, headers: [.contentType: WireFormat.json.mediaType],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: fixedInternalError)))
    }

    static let fixedInternalError = #"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception","details":{"text":"Internal server error."}}]}"#
}

/// `Gematik-Workflow-Profil: <major.minor>`: the version of the gematik workflow profile a request
/// body claimed, set on the answer once that body was read (`$create`, `$activate`, `$dispense`,
/// `$close`). At the production service an A_23090-07 raw-data header on the outer response, read by
/// the operator's monitoring (fd-parity §7.5); erx sends it as a plain header on success answers.
enum WorkflowProfileHeader {
    static let name = HTTPField.Name("Gematik-Workflow-Profil")!
    static let profilePrefix = "https://gematik.de/fhir/erp/StructureDefinition/"

    /// The header's value for `resource`, if it claims a versioned workflow profile.
    static func value(of resource: Element?) -> String? {
        guard let profile = resource?.child("meta")?.children(named: "profile").lazy.compactMap(\.value).first(where: { $0.hasPrefix(profilePrefix) }),
              let version = ProfileVersionWindows.majorMinor(ofCanonical: profile), !version.isEmpty
        else { return nil }
        return version
    }

    /// `headers` with the header for `resource` added.
    static func fields(_ headers: HTTPFields = [:], for resource: Element?) -> HTTPFields {
        var headers = headers
        if let value = value(of: resource) { headers[name] = value }
        return headers
    }
}
