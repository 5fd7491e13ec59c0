import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import VAUProtocol

/// The VAU's outer routes (fd-messaging-transport §4.1): the encryption certificate, its OCSP
/// answer, and `POST /VAU/{up}`, which opens the request, runs the inner request through the same
/// routes, middleware and error seam as a plain one (``TunnelledRequest``), and seals the answer.
enum VAURoutes {
    static func routes(_ vau: VAUSettings, inner: TunnelledRequest, limits: RequestLimits) -> [Route] {
        [
            Route(.get, "/VAUCertificate", professions: nil) { _, _ in
                // The API's `Content-Type` (REF sends octet-stream).
                Response(status: .ok, headers: [.contentType: "application/pkix-cert"],
                         body: ResponseBody(byteBuffer: ByteBuffer(bytes: vau.certificateDER)))
            },
            Route(.get, "/VAUCertificateOCSPResponse", professions: nil) { _, _ in
                guard let ocsp = vau.ocspResponseDER else { throw RequestError.routeNotFound }
                return Response(status: .ok, headers: [.contentType: "application/ocsp-response"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: ocsp)))
            },
            Route(.post, "/VAU/{up}", professions: nil) { request, context in
                try await tunnel(request, context, vau: vau, inner: inner, limits: limits)
            },
        ]
    }

    static let vauErrorCode = HTTPField.Name("VAU-Error-Code")!
    static let userPseudonym = HTTPField.Name("Userpseudonym")!

    /// A_20163: decrypt, verify `p`, process the inner request, encrypt the answer.
    static func tunnel(_ request: Request, _ context: ErxRequestContext, vau: VAUSettings, inner: TunnelledRequest,
                       limits: RequestLimits) async throws -> Response {
        // The encrypted body is the inner request plus `p`'s items and the ECIES frame.
        var buffer = try await request.body.collect(upTo: limits.maximumBodyBytes + 8 * 1024)
        let body = buffer.readBytes(length: buffer.readableBytes) ?? []
        let plaintext: VAUPlaintext
        do {
            plaintext = try VAUPlaintext(VAURequestBody(body).open(with: vau.key))
        } catch {
            return outerError(error, request)
        }
        let answer = await inner.answer(plaintext, context: context)
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[userPseudonym] = vau.pseudonyms.answer(for: context.parameters.get("up") ?? "0")
        // The outer copy lets a proxy see it without decrypting (`VauErrorCode.hxx`).
        if let code = answer.headerFields[vauErrorCode] { headers[vauErrorCode] = code }
        if answer.status.code >= 400 { headers[.connection] = "close" }
        let sealed = try VAUResponseBody.seal(innerResponse: answer.serialized(), requestID: plaintext.requestID,
                                              key: plaintext.responseKey)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: sealed)))
    }

    /// The answer outside the tunnel, when there is no response key to encrypt with (IBM
    /// `VauRequestHandler::handleRequest`, `OuterResponseErrorData`): plain JSON, connection closed.
    static func outerError(_ error: VAUError, _ request: Request) -> Response {
        var object: [String: Any] = [
            "x-request-id": request.headers[HTTPField.Name("X-Request-Id")!] ?? "unknown X-Request-Id",
            "status": error.status,
            "error": error.text,
        ]
        if let message = error.message { object["message"] = message }
        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(status: HTTPResponse.Status(code: error.status),
                        headers: [.contentType: "application/json", .connection: "close"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }
}
