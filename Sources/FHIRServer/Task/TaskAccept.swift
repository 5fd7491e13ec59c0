public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$accept`: the pharmacy (for DiGA, 162: the insurer; A_19166-02, A_25993) takes
    /// the task; it gets the Secret and the prescription. The other role gets the router's 403.
    static func accept(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$accept", professions: Profession.redeemers, resource: "Task", interaction: .operation("accept"),
              flowProfessions: { $0.redeemingProfessions }) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let task = try await env.service.accept(id, accessCode: Routes.accessCode(request), caller: caller)
            return try Routes.respond(Bundles.accepted(task, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(), now: env.service.clock.now()), request, context)
        }
    }
}
