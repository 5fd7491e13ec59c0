import Dispensing
import Hummingbird

extension CommunicationRoutes {
    /// `GET /Communication/{id}`: the caller's own message (sent or received; A_19520-02), marked
    /// received on the recipient's first read (A_19521). 400 for an id that is no UUID, 404 for an
    /// unknown one or another's.
    static func read(_ env: ServerEnvironment) -> Route {
        Route(.get, "/Communication/{id}", professions: professions, resource: "Communication", interaction: .read) { request, context in
            try CommunicationRoutes.refuseHead(request)
            let caller = try Routes.caller(context)
            let id = try id(context)
            let message = try await service(env).read(id, caller: caller)
            return try Routes.respond(CommunicationResource.element(message), request, context)
        }
    }
}
