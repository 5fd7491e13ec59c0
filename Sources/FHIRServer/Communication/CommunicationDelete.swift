import Dispensing
import Hummingbird

extension CommunicationRoutes {
    /// `DELETE /Communication/{id}`: only the sender (A_20258, A_20260, A_20776); 204, and no
    /// `Warning` header for a read message (E2E ERP_COMMUNICATION_DELETE_01 asserts none). Another's
    /// message answers 404, not IBM's 401 whose text echoes the caller's id (see
    /// ``CommunicationService/delete(_:caller:)``).
    static func delete(_ env: ServerEnvironment) -> Route {
        Route(.delete, "/Communication/{id}", professions: professions, resource: "Communication", interaction: .custom("delete: the sender deletes a message")) { _, context in
            let caller = try Routes.caller(context)
            let id = try id(context)
            try await service(env).delete(id, caller: caller)
            return Response(status: .noContent)
        }
    }
}
