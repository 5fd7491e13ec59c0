import FHIRFormats
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
