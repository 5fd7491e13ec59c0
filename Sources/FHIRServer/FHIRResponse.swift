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

    /// An error answer. Writing an OperationOutcome cannot fail in practice; if it did, the answer
    /// is a fixed text so no error ever escapes the seam.
    static func answer(_ answer: ErrorSeam.Answer, format: WireFormat) -> Response {
        if let response = try? resource(answer.outcome.element, status: answer.status, format: format, headers: answer.headers) {
            return response
        }
        return Response(status: .internalServerError, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: "Internal server error.")))
    }
}
