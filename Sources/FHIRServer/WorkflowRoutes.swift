public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

/// What the handlers need besides the request.
public struct ServerEnvironment: Sendable {
    public var service: DispensingService
    public var dispensationParameters: DispensationParameters
    /// The public base URL (`http://127.0.0.1:8080`), for `fullUrl`s, `Location` and paging links.
    public var baseURL: String
    /// Accept an unsigned KBV bundle at `$activate` (development and conformance runs only).
    public var acceptUnsigned: Bool
    /// How `$activate` reads CMS-signed prescriptions (and whether it verifies them).
    public var signedPrescriptions: SignedPrescription
    /// Whether the database answers (`/health/ready`).
    public var databaseReady: @Sendable () async -> Bool
    /// Whether the registry answered its last request (`/health/ready` reports `degraded`, not down,
    /// when it did not: transfers wait in the outbox); `nil` when no registry is configured.
    public var registryReachable: (@Sendable () -> Bool)?
    /// Where `/metrics` reads from, and request metrics go; `nil`: no metrics.
    public var metrics: RequestMetrics?
    /// What one request may make the server do (body size, elements, repeats, the large-body lane).
    public var limits: RequestLimits

    public init(service: DispensingService, dispensationParameters: DispensationParameters, baseURL: String,
                acceptUnsigned: Bool = false, signedPrescriptions: SignedPrescription = SignedPrescription(trustAnchors: nil),
                databaseReady: @escaping @Sendable () async -> Bool = { true }, registryReachable: (@Sendable () -> Bool)? = nil,
                metrics: RequestMetrics? = nil, limits: RequestLimits = RequestLimits()) {
        self.limits = limits
        self.signedPrescriptions = signedPrescriptions
        self.service = service
        self.dispensationParameters = dispensationParameters
        self.baseURL = baseURL
        self.acceptUnsigned = acceptUnsigned
        self.databaseReady = databaseReady
        self.registryReachable = registryReachable
        self.metrics = metrics
    }

    /// The insurant's own objections, on the same store and clock as the workflow.
    public var objections: ObjectionService { ObjectionService(store: service.store, clock: service.clock) }
}

/// The Task operations (dispense-spec.md §4.2), each with the professions that may call it.
enum WorkflowRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        let pharmacies = Profession.pharmacies
        let prescribers = Profession.prescribers
        return [
            Route(.post, "/Task/$create", professions: prescribers, resource: "Task", interaction: .operation("create")) { request, context in
                let body = try await RequestBodyReader.requiredResource(of: request, limits: env.limits, expected: "Parameters")
                let flowType = try CreateParameters.flowType(in: body)
                let task = try await env.service.create(flowType: flowType, caller: Routes.caller(context))
                return try Routes.respond(TaskResource.element(task, visible: [.accessCode]), request, context, status: .created,
                                          headers: [.location: "\(env.baseURL)/Task/\(task.id.rawValue)"])
            },
            Route(.post, "/Task/{id}/$activate", professions: prescribers, resource: "Task", interaction: .operation("activate")) { request, context in
                let caller = try Routes.caller(context)
                let id = try Routes.prescriptionID(context)
                let accessCode = Routes.accessCode(request)
                if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                    try await env.service.admit(id, for: .activate(accessCode: accessCode), caller: caller)
                }
                let body = try await RequestBodyReader.requiredResource(of: request, limits: env.limits, expected: "Parameters")
                let bundle = try await PrescriptionInput.bundle(in: body, acceptUnsigned: env.acceptUnsigned, signed: env.signedPrescriptions)
                let prescription = try PrescriptionBundle(bundle)
                let task = try await env.service.activate(id, accessCode: accessCode, prescription: prescription, caller: caller)
                return try Routes.respond(TaskResource.element(task, visible: [.accessCode]), request, context)
            },
            Route(.post, "/Task/{id}/$accept", professions: pharmacies, resource: "Task", interaction: .operation("accept")) { request, context in
                let caller = try Routes.caller(context)
                let id = try Routes.prescriptionID(context)
                let task = try await env.service.accept(id, accessCode: Routes.accessCode(request), caller: caller)
                return try Routes.respond(Bundles.accepted(task, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID()), request, context)
            },
            Route(.post, "/Task/{id}/$dispense", professions: pharmacies, resource: "Task", interaction: .operation("dispense")) { request, context in
                let caller = try Routes.caller(context)
                let id = try Routes.prescriptionID(context)
                let secret = Routes.query(request, "secret")
                // Cost before trust: a large body is read only for the holder of the secret.
                if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                    try await env.service.admit(id, for: .dispense(secret: secret), caller: caller)
                }
                let parameters = env.dispensationParameters
                let body: Result<[Dispensation], any Error>
                do {
                    body = .success(try await RequestBodyReader.decode(request, limits: env.limits) { resource in
                        guard let resource else { throw RequestError.bodyMissing(expectedResource: "Parameters") }
                        return try parameters.dispensations(in: resource, for: .dispense)
                    })
                } catch {
                    body = .failure(error)
                }
                let stored = try await env.service.dispense(id, secret: secret, caller: caller, body: body)
                return try dispenseAnswer(stored, request, context, env)
            },
            Route(.post, "/Task/{id}/$close", professions: pharmacies, resource: "Task", interaction: .operation("close")) { request, context in
                let caller = try Routes.caller(context)
                let id = try Routes.prescriptionID(context)
                let secret = Routes.query(request, "secret")
                if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                    try await env.service.admit(id, for: .close(secret: secret), caller: caller)
                }
                let parameters = env.dispensationParameters
                let body: Result<[Dispensation]?, any Error>
                do {
                    body = .success(try await RequestBodyReader.decode(request, limits: env.limits) { resource in
                        try resource.map { try parameters.dispensations(in: $0, for: .close) }
                    })
                } catch {
                    body = .failure(error)
                }
                let task = try await env.service.close(id, secret: secret, caller: caller, body: body)
                guard let receipt = task.receipt else { throw RequestError.routeNotFound }
                return try Routes.respond(receipt, request, context)
            },
            Route(.post, "/Task/{id}/$reject", professions: pharmacies, resource: "Task", interaction: .operation("reject")) { request, context in
                let caller = try Routes.caller(context)
                try await env.service.reject(Routes.prescriptionID(context), secret: Routes.query(request, "secret"), caller: caller)
                return Response(status: .noContent)
            },
            Route(.post, "/Task/{id}/$abort", professions: prescribers.union(pharmacies).union([.insurant]), resource: "Task", interaction: .operation("abort")) { request, context in
                let caller = try Routes.caller(context)
                try await env.service.abort(Routes.prescriptionID(context), secret: Routes.query(request, "secret"),
                                            accessCode: Routes.accessCode(request), caller: caller)
                return Response(status: .noContent)
            },
        ]
    }

    /// ARCHITECTURE decision 1: 204; `Prefer: return=representation` → 200 with the stored set as a
    /// searchset; `Prefer: return=OperationOutcome` → 200 with an informational OperationOutcome.
    static func dispenseAnswer(_ stored: [Dispensation], _ request: Request, _ context: ErxRequestContext, _ env: ServerEnvironment) throws -> Response {
        let prefer = request.headers[HTTPField.Name("Prefer")!]?.lowercased().replacingOccurrences(of: " ", with: "") ?? ""
        if prefer.contains("return=representation") {
            let bundle = Bundles.searchset(stored, total: stored.count, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID())
            return try Routes.respond(bundle, request, context)
        }
        if prefer.contains("return=operationoutcome") {
            let outcome = OperationOutcome(issues: [.init(severity: .information, code: .informational,
                                                          text: "Stored \(stored.count) dispensation(s); they replace any stored before.")])
            return try Routes.respond(outcome.element, request, context)
        }
        return Response(status: .noContent)
    }
}

/// `$create`'s input: a Parameters with exactly one `workflowType` Coding of the FlowType system.
enum CreateParameters {
    static func flowType(in body: Element) throws -> FlowType {
        guard body.name == "Parameters" else { throw RequestError.wrongResource(expected: "Parameters", found: body.name) }
        let parameters = body.children(named: "parameter").enumerated().filter { $0.element.value(of: "name") == "workflowType" }
        guard parameters.count == 1, let (index, parameter) = parameters.first else {
            throw DispensingError.invalidPrescription(reason: "Parameters must hold exactly one workflowType.", expression: "Parameters.parameter")
        }
        guard let coding = parameter.child("valueCoding"), coding.value(of: "system") == Systems.flowType,
              let code = coding.value(of: "code").flatMap(Int.init), let flowType = FlowType(rawValue: code)
        else {
            throw DispensingError.invalidPrescription(reason: "workflowType must be a GEM_ERP_CS_FlowType code.",
                                                      expression: "Parameters.parameter[\(index)].valueCoding")
        }
        return flowType
    }
}
