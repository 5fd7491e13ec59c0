import Dispensing
import FHIRFormats
import FHIRModel
public import Hummingbird
import Logging
import Foundation

/// The outermost middleware: gives each request an id for the logs, turns every error into an
/// OperationOutcome in the negotiated format, and logs one line per request (method, route, status,
/// duration — never bodies, query values or personal data).
public struct ErrorSeamMiddleware: RouterMiddleware {
    public typealias Context = ErxRequestContext

    let limits: RequestLimits
    /// Whether this router answers the FD's namespace; not the outer router of `--transport vau`,
    /// where every unknown path is the outer server's 404, as at the production service (IBM
    /// `PartialRequestHandler`: no outer handler, 404).
    let answersFDNamespace: Bool

    public init(limits: RequestLimits = RequestLimits(), answersFDNamespace: Bool = true) {
        self.limits = limits
        self.answersFDNamespace = answersFDNamespace
    }

    public func handle(_ request: Request, context: ErxRequestContext, next: (Request, ErxRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.init("X-Request-ID")!].flatMap { $0.count <= 64 ? $0 : nil } ?? RandomIDGenerator.randomUUID()
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let started = ContinuousClock.now
        var response: Response
        // A declared length over the limit is refused before anything else, and the connection
        // closed after the answer, so none of that body is ever read (issue 19).
        let refusedUnread = RequestBodyReader.declaredLength(request).map { $0 > limits.maximumBodyBytes } ?? false
        do {
            if refusedUnread { throw RequestError.bodyTooLarge }
            response = try await next(request, context)
        } catch {
            let answer: ErrorSeam.Answer
            switch error {
            case let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed:
                answer = ErrorSeam.answer(for: answersFDNamespace ? Self.unrouted(request) : RequestError.routeNotFound)
            case let error as HTTPError where error.status == .contentTooLarge:
                answer = ErrorSeam.answer(for: RequestError.bodyTooLarge)
            default:
                answer = ErrorSeam.answer(for: error)
                if answer.status == .internalServerError { Self.logUnhandled(error, context.logger) }
            }
            response = FHIRResponse.answer(answer, format: Self.errorFormat(request, context))
        }
        if refusedUnread { response.headers[.connection] = "close" }
        // R4 http.html: HEAD answers as GET without the body; routed HEADs are stripped by the
        // router (`autoGenerateHeadEndpoints`), these are the error answers made here.
        if request.method == .head, response.body.contentLength != 0 { response = response.createHeadResponse() }
        response.headers[.init("X-Request-ID")!] = requestID
        let elapsed = ContinuousClock.now - started
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "route": .string(context.endpointPath ?? "unmatched"),
            "status": .stringConvertible(response.status.code),
            "ms": .stringConvertible(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000),
        ])
        return response
    }

    /// What a request that no route answers gets. In the FD's namespace (every path but erx's
    /// operational ones) the production service first checks that a bearer token is there (401,
    /// fd-parity §7.1; the FD says 400, erx 401 as RFC 6750 has it), then answers 405 (A_19030,
    /// A_19400, A_19401, A_19402, A_22111, A_22153), unknown resource types included. erx's
    /// operational paths (`/`, `/health…`, `/metrics`) answer 404 without a token, as the FD's outer
    /// server answers what it does not know.
    static func unrouted(_ request: Request) -> RequestError {
        if SystemRoutes.isOperational(path: request.uri.path) { return .routeNotFound }
        do {
            _ = try AccessTokenVerifier.bearerToken(request.headers[.authorization])
            return .noMatchingHandler
        } catch {
            return error
        }
    }

    /// The type only: an error's description may hold personal data.
    static func logUnhandled(_ error: any Error, _ logger: Logger) {
        var metadata: Logger.Metadata = ["error_type": .string(String(describing: type(of: error)))]
        if let error = error as? FHIRFormatError {
            // A resource the server built that cannot be written: the path and rule are safe to log.
            metadata["expression"] = .string(error.issue.expression.joined(separator: ","))
            metadata["issue_code"] = .string(error.issue.code.rawValue)
        }
        logger.error("unhandled error", metadata: metadata)
    }

    /// The format of an error answer: as negotiated; if the negotiation itself failed, the caller's
    /// default (XML for institutions, JSON for insurants, as the production service's
    /// `fillErrorResponse`), and JSON before the caller is known.
    static func errorFormat(_ request: Request, _ context: ErxRequestContext) -> WireFormat {
        (try? Routes.responseFormat(request, context)) ?? context.caller.map { $0.profession == .insurant ? .json : .xml } ?? .json
    }
}
