import HTTPTypes
public import Hummingbird
import NIOCore
public import VAUProtocol

/// Runs the request inside the tunnel through the routes a plain request takes: the same router,
/// middleware and error seam (issue 25), so every route answers inside exactly as outside. The
/// VAU's own routes are not among them (no tunnel in a tunnel).
public struct TunnelledRequest: Sendable {
    let responder: @Sendable (Request, ErxRequestContext) async throws -> Response

    init<Responder: HTTPResponder>(_ responder: Responder) where Responder.Context == ErxRequestContext {
        self.responder = { request, context in try await responder.respond(to: request, context: context) }
    }

    /// The inner answer to `plaintext`'s request; never throws, every failure is an answer.
    func answer(_ plaintext: VAUPlaintext, context: ErxRequestContext) async -> InnerHTTPResponse {
        let innerContext = ErxRequestContext(source: .init(channel: context.channel, logger: context.logger))
        let parsed: InnerHTTPRequest
        do {
            parsed = try InnerHTTPRequest(parsing: plaintext.innerRequest)
        } catch {
            let placeholder = Request(head: HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), body: .init(buffer: ByteBuffer()))
            return await Self.collect(refusal(.malformed, placeholder, innerContext))
        }
        let request = Request(head: parsed.head, body: RequestBody(buffer: ByteBuffer(bytes: parsed.body)))
        // IBM's order: the BOM (A_28427), then the Authorization header against `p`'s token.
        if parsed.body.starts(with: [0xEF, 0xBB, 0xBF]) { return await Self.collect(refusal(.byteOrderMark, request, innerContext)) }
        guard let authorization = parsed.head.headerFields[.authorization] else {
            return await Self.collect(refusal(.authorizationMissing, request, innerContext))
        }
        guard authorization.hasPrefix("Bearer ") else { return await Self.collect(refusal(.authorizationNotBearer, request, innerContext)) }
        guard authorization.dropFirst("Bearer ".count) == plaintext.accessToken else {
            return await Self.collect(refusal(.authorizationMismatch, request, innerContext))
        }
        do {
            return await Self.collect(try await responder(request, innerContext))
        } catch {
            // The error seam middleware answers every error; this is only its last resort.
            return await Self.collect(FHIRResponse.answer(ErrorSeam.internalError(), format: .json))
        }
    }

    private func refusal(_ refusal: TunnelledRequestRefusal, _ request: Request, _ context: ErxRequestContext) -> Response {
        FHIRResponse.answer(ErrorSeam.answer(for: RequestError.tunnelled(refusal)), format: ErrorSeamMiddleware.errorFormat(request, context))
    }

    /// The whole answer, body collected (answers are bounded: the largest is a search page).
    static func collect(_ response: Response) async -> InnerHTTPResponse {
        let sink = BodySink()
        do {
            try await response.body.write(BodySink.Writer(sink: sink))
        } catch {
            return InnerHTTPResponse(status: .internalServerError, headerFields: [:], body: [])
        }
        var fields = response.headers
        fields[.contentLength] = nil
        return InnerHTTPResponse(status: response.status, headerFields: fields, body: sink.bytes)
    }
}

/// Collects a response body written by Hummingbird's writer protocol.
private final class BodySink: @unchecked Sendable {
    // Written by one writer, read after it finished: no concurrent access.
    var bytes: [UInt8] = []

    struct Writer: ResponseBodyWriter {
        let sink: BodySink
        mutating func write(_ buffer: ByteBuffer) async throws {
            sink.bytes += buffer.readableBytesView
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
