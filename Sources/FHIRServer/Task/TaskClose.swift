public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$close` (pharmacies): completes the task and answers the signed receipt.
    static func close(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$close", professions: Profession.pharmacies, resource: "Task", interaction: .operation("close")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let secret = Routes.query(request, "secret")
            if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                try await env.service.admit(id, for: .close(secret: secret), caller: caller)
            }
            let parameters = env.dispensationParameters
            let body: Result<(dispensations: [Dispensation]?, profile: String?), any Error>
            do {
                body = .success(try await RequestBodyReader.decode(request, limits: env.limits) { resource in
                    (try resource.map { try parameters.dispensations(in: $0, for: .close) }, WorkflowProfileHeader.value(of: resource))
                })
            } catch {
                body = .failure(error)
            }
            let task = try await env.service.close(id, secret: secret, caller: caller, body: body.map(\.dispensations),
                                                   signingTime: { try? CMSContents($0).signingTime })
            guard let receipt = task.receipt else { throw RequestError.routeNotFound }
            let profile = (try? body.get())?.profile
            return try Routes.respond(receipt, request, context, headers: profile.map { [WorkflowProfileHeader.name: $0] } ?? [:])
        }
    }
}
