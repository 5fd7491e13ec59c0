public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$abort`: cancels the task (prescriber, insurant or owning pharmacy).
    static func abort(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$abort", professions: Profession.prescribers.union(Profession.pharmacies).union([.insurant]), resource: "Task", interaction: .operation("abort")) { request, context in
            let caller = try Routes.caller(context)
            try await env.service.abort(Routes.prescriptionID(context), secret: Routes.query(request, "secret"),
                                        accessCode: Routes.accessCode(request), caller: caller)
            return Response(status: .noContent)
        }
    }
}
