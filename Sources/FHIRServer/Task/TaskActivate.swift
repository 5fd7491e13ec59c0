public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$activate` (prescribers): the signed prescription makes a draft task ready.
    static func activate(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$activate", professions: Profession.prescribers, resource: "Task", interaction: .operation("activate")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let accessCode = Routes.accessCode(request)
            if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                try await env.service.admit(id, for: .activate(accessCode: accessCode), caller: caller)
            }
            let body = try await RequestBodyReader.requiredResource(of: request, limits: env.limits, expected: "Parameters")
            let input = try await PrescriptionInput.bundle(in: body, flowType: id.flowType, acceptUnsigned: env.acceptUnsigned,
                                                          signed: env.signedPrescriptions)
            let prescription = try PrescriptionBundle(input.bundle, signedData: input.signedData, signedAt: input.signedAt)
            let task = try await env.service.activate(id, accessCode: accessCode, prescription: prescription, caller: caller)
            return try Routes.respond(TaskResource.element(task, visible: [.accessCode]), request, context,
                                      headers: WorkflowProfileHeader.fields(for: body))
        }
    }
}
