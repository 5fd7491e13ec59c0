public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$dispense` (pharmacies; insurers get 403 also for 162, as IBM registers it, A_24279):
    /// the dispensation set replaces the stored one (dispense-spec.md §4).
    static func dispense(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$dispense", professions: Profession.pharmacies, resource: "Task", interaction: .operation("dispense")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let secret = Routes.query(request, "secret")
            // Cost before trust: a large body is read only for the holder of the secret.
            if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                try await env.service.admit(id, for: .dispense(secret: secret), caller: caller)
            }
            let parameters = env.dispensationParameters
            let body: Result<(dispensations: [Dispensation], profile: String?), any Error>
            do {
                body = .success(try await RequestBodyReader.decode(request, limits: env.limits) { resource in
                    guard let resource else { throw RequestError.bodyMissing(expectedResource: "Parameters") }
                    return (try parameters.dispensations(in: resource, for: .dispense), WorkflowProfileHeader.value(of: resource))
                })
            } catch {
                body = .failure(error)
            }
            let stored = try await env.service.dispense(id, secret: secret, caller: caller, body: body.map(\.dispensations))
            var response = try dispenseAnswer(stored, request, context, env)
            if case .success(let decoded) = body, let profile = decoded.profile { response.headers[WorkflowProfileHeader.name] = profile }
            return response
        }
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
