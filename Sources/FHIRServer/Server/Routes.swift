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
    /// For the CapabilityStatement: the search parameters a `searchType` route takes.
    public let searchParameters: [SearchParameter]
    /// The professions admitted by the flow type of the path's PrescriptionID, checked after
    /// `professions` (IBM `ErpRequestHandler::allowedForProfessionOID` with `OIDsByWorkflow`, as it
    /// registers `$accept`: insurers for 162, pharmacies for the others); `nil` for one set for all flows.
    public let flowProfessions: (@Sendable (FlowType) -> Set<Profession>)?
    /// A further condition on a caller of an admitted profession, checked with the profession, so
    /// a caller it refuses gets the profession's 403 in the production service's order (before
    /// 406): a route ours extends to a profession for some requests only. `nil`: all admitted.
    public let admits: (@Sendable (Caller, Request) -> Bool)?
    public let handler: Handler

    public enum Interaction: Sendable, Hashable {
        case operation(String)
        case read, searchType, create, conditionalDelete
        /// An HTTP interaction that is none of R4's (a read answering a Bundle, a type-level GET
        /// answering one resource): the CapabilityStatement only documents it, with this text.
        case custom(String)
    }

    /// A search parameter as the CapabilityStatement declares it (`rest.resource.searchParam`).
    public struct SearchParameter: Sendable, Hashable {
        public let name: String
        /// The FHIR search parameter type (`token`, `date`, `reference`, `string`, `special`, …).
        public let type: String
        public let documentation: String?

        public init(_ name: String, _ type: String, _ documentation: String? = nil) {
            self.name = name
            self.type = type
            self.documentation = documentation
        }

        public init(name: String, type: String, documentation: String? = nil) {
            self.init(name, type, documentation)
        }
    }

    public init(_ method: HTTPRequest.Method, _ path: String, professions: Set<Profession>?, resource: String? = nil,
                interaction: Interaction? = nil, searchParameters: [SearchParameter] = [],
                flowProfessions: (@Sendable (FlowType) -> Set<Profession>)? = nil,
                admits: (@Sendable (Caller, Request) -> Bool)? = nil, handler: @escaping Handler) {
        self.admits = admits
        self.method = method
        self.path = path
        self.professions = professions
        self.resource = resource
        self.interaction = interaction
        self.searchParameters = searchParameters
        self.flowProfessions = flowProfessions
        self.handler = handler
    }
}

enum Routes {
    /// Runs a route (see below); any error goes through the seam here, where the route and the
    /// caller are known for the answer's text and format.
    static func run(_ route: Route, verifier: AccessTokenVerifier, metrics: RequestMetrics?, request: Request, context: ErxRequestContext) async -> Response {
        guard let metrics else { return await run(route, verifier: verifier, request: request, context: context) }
        let start = ContinuousClock.now
        let response = await run(route, verifier: verifier, request: request, context: context)
        let elapsed = start.duration(to: .now).components
        metrics.record(route: "\(route.method.rawValue) \(route.path)", status: response.status.code,
                       nanoseconds: elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
        return response
    }

    /// The production service's order (fd-parity §7.1): the token's form (401), the route (found,
    /// or the router's 405), the token's signature and claims (401), the profession (403), the
    /// answer format (406, before any change), then the handler. Open routes need no token.
    static func run(_ route: Route, verifier: AccessTokenVerifier, request: Request, context: ErxRequestContext) async -> Response {
        var context = context
        do {
            if let professions = route.professions {
                let token = try AccessTokenVerifier.bearerToken(request.headers[.authorization])
                let caller = try await verifier.caller(token: token)
                context.caller = caller
                guard professions.contains(caller.profession), route.admits?(caller, request) ?? true else {
                    throw RequestError.professionNotAllowed(oid: caller.profession.rawValue)
                }
                // A malformed ID is left to the handler (404); IBM answers 403 there (ours, fd-parity §2.1).
                if let byFlow = route.flowProfessions, let id = context.parameters.get("id").flatMap(PrescriptionID.init),
                   !byFlow(id.flowType).contains(caller.profession) {
                    throw RequestError.professionNotAllowed(oid: caller.profession.rawValue)
                }
                _ = try responseFormat(request, context)
            }
            return try await route.handler(request, &context)
        } catch {
            let answer = ErrorSeam.answer(for: error, at: ErrorSeam.Site(route), caller: context.caller)
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

    /// An insurant's KVNR from the token (their reads are filtered by it); 400 without one.
    static func insurantKVNR(_ caller: Caller) throws(RequestError) -> KVNR {
        guard let kvnr = caller.kvnr else { throw .tokenClaimMissing("idNummer") }
        return kvnr
    }

    static func caller(_ context: ErxRequestContext) throws(RequestError) -> Caller {
        guard let caller = context.caller else { throw .unauthenticated(.missingHeader) }
        return caller
    }

    /// A resource in the negotiated format.
    static func respond(_ element: Element, _ request: Request, _ context: ErxRequestContext, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        try FHIRResponse.resource(element, status: status, format: responseFormat(request, context), headers: headers)
    }
}
