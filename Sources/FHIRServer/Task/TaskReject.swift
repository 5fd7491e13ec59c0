public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$reject` (pharmacies and insurers for every flow, A_19170-02, as IBM registers
    /// it; the Secret decides): hands the task back; it is ready again.
    static func reject(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$reject", professions: Profession.redeemers, resource: "Task", interaction: .operation("reject")) { request, context in
            let caller = try Routes.caller(context)
            try await env.service.reject(Routes.prescriptionID(context), secret: Routes.query(request, "secret"), caller: caller)
            return Response(status: .noContent)
        }
    }
}
