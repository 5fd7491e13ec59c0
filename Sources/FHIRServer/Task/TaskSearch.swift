public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

extension TaskRoutes {
    /// `GET /Task` (insurants): the insurant's tasks.
    static func search(_ env: ServerEnvironment) -> Route {
        Route(.get, "/Task", professions: [.insurant], resource: "Task", interaction: .searchType) { request, context in
            guard let kvnr = try Routes.caller(context).kvnr else { throw DispensingError.notTheInsurantsTask }
            let tasks = try await env.service.store.tasks(of: kvnr).filter { $0.status != .draft }
            let bundle = Bundles.matches(tasks.map { TaskResource.element($0, visible: [.accessCode]) }, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID())
            return try Routes.respond(bundle, request, context)
        }
    }
}
