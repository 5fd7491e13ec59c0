public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$accept` (pharmacies): the pharmacy takes the task; it gets the Secret and the prescription.
    static func accept(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$accept", professions: Profession.pharmacies, resource: "Task", interaction: .operation("accept")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let task = try await env.service.accept(id, accessCode: Routes.accessCode(request), caller: caller)
            return try Routes.respond(Bundles.accepted(task, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(), now: env.service.clock.now()), request, context)
        }
    }
}
