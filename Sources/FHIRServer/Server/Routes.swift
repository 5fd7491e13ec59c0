public import Dispensing
import FHIRModel
public import Hummingbird
public import HTTPTypes
import Foundation

/// One route of the server: what it answers, who may call it, and its handler. The table of all
/// routes is the single source for the router, the profession checks and the CapabilityStatement.
public struct Route: Sendable {
    public typealias Handler = @Sendable (Request, inout ErxRequestContext) async throws -> Response

    public let method: HTTPRequest.Method
    /// The Hummingbird path pattern (`/Task/{id}/$dispense`).
    public let path: String
    /// The professions admitted; `nil` for open routes (no token needed).
    public let professions: Set<Profession>?
    /// For the CapabilityStatement: the resource type and the operation or interaction.
    public let resource: String?
    public let interaction: Interaction?
    /// The search parameters a search route applies, for the CapabilityStatement.
    public let searchParameters: [SearchParameter]
    public let handler: Handler

    public struct SearchParameter: Sendable, Hashable {
        public let name: String
        public let type: String
        public let documentation: String?

        public init(name: String, type: String, documentation: String? = nil) {
            self.name = name
            self.type = type
            self.documentation = documentation
        }
    }

    public enum Interaction: Sendable, Hashable {
        case operation(String)
        case read, searchType, create, conditionalDelete
    }

    public init(_ method: HTTPRequest.Method, _ path: String, professions: Set<Profession>?, resource: String? = nil,
                interaction: Interaction? = nil, searchParameters: [SearchParameter] = [], handler: @escaping Handler) {
        self.searchParameters = searchParameters
        self.method = method
        self.path = path
        self.professions = professions
        self.resource = resource
        self.interaction = interaction
        self.handler = handler
    }
}

enum Routes {
    /// Runs a route: answer format first (so a 406 comes before any change), then the token and
    /// the profession (401, 403), then the handler; any error goes through the seam here, where the
    /// caller and the body format are known for the answer's format.
    static func run(_ route: Route, verifier: AccessTokenVerifier, metrics: RequestMetrics?, request: Request, context: ErxRequestContext) async -> Response {
        guard let metrics else { return await run(route, verifier: verifier, request: request, context: context) }
        let start = ContinuousClock.now
        let response = await run(route, verifier: verifier, request: request, context: context)
        let elapsed = start.duration(to: .now).components
        metrics.record(route: "\(route.method.rawValue) \(route.path)", status: response.status.code,
                       nanoseconds: elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        return response
    }

    static func run(_ route: Route, verifier: AccessTokenVerifier, request: Request, context: ErxRequestContext) async -> Response {
        var context = context
        do {
            _ = try responseFormat(request, context)
            if let professions = route.professions {
                let caller = try await verifier.caller(authorization: request.headers[.authorization])
                context.caller = caller
                guard professions.contains(caller.profession) else { throw RequestError.professionNotAllowed }
            }
            return try await route.handler(request, &context)
        } catch {
            let answer = ErrorSeam.answer(for: error)
            if answer.status == .internalServerError { ErrorSeamMiddleware.logUnhandled(error, context.logger) }
            return FHIRResponse.answer(answer, format: ErrorSeamMiddleware.errorFormat(request, context))
        }
    }

    /// The answer format: `_format`, then `Accept`, then the caller's default as in the production
    /// service (A_19539: XML for institutions, JSON for insurants); JSON before the caller is known.
    static func responseFormat(_ request: Request, _ context: ErxRequestContext) throws(RequestError) -> WireFormat {
        let fallback: WireFormat = context.caller.map { $0.profession == .insurant ? .json : .xml } ?? .json
        do {
            return try ContentNegotiation.responseFormat(
                formatParameter: request.uri.queryParameters["_format"].map(String.init),
                accept: request.headers[.accept], fallback: fallback
            )
        } catch {
            throw .negotiation(error)
        }
    }

    /// The path's `{id}` as a PrescriptionID; a malformed one is answered like an unknown task (404).
    static func prescriptionID(_ context: ErxRequestContext) throws(DispensingError) -> PrescriptionID {
        guard let text = context.parameters.get("id"), let id = PrescriptionID(text) else { throw .malformedPrescriptionID }
        return id
    }

    static func query(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters[name[...]].map(String.init)
    }

    /// The AccessCode: `?ac=` first, then the `X-AccessCode` header (as the production service).
    static func accessCode(_ request: Request) -> String? {
        query(request, "ac") ?? request.headers[HTTPField.Name("X-AccessCode")!]
    }

    static func caller(_ context: ErxRequestContext) throws(RequestError) -> Caller {
        guard let caller = context.caller else { throw .unauthenticated }
        return caller
    }

    /// A resource in the negotiated format.
    static func respond(_ element: Element, _ request: Request, _ context: ErxRequestContext, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        try FHIRResponse.resource(element, status: status, format: responseFormat(request, context), headers: headers)
    }
}
