public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/$create` (prescribers): a new draft task of the flow type the Parameters name.
    static func create(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/$create", professions: Profession.prescribers, resource: "Task", interaction: .operation("create")) { request, context in
            let body = try await RequestBodyReader.requiredResource(of: request, limits: env.limits, expected: "Parameters")
            let flowType = try CreateParameters.flowType(in: body)
            let task = try await env.service.create(flowType: flowType, caller: Routes.caller(context))
            return try Routes.respond(TaskResource.element(task, visible: [.accessCode]), request, context, status: .created,
                                      headers: WorkflowProfileHeader.fields([.location: "\(env.baseURL)/Task/\(task.id.rawValue)"], for: body))
        }
    }
}

/// `$create`'s input: a Parameters with exactly one `workflowType` Coding of the FlowType system.
enum CreateParameters {
    static func flowType(in body: Element) throws -> FlowType {
        guard body.name == "Parameters" else { throw RequestError.wrongResource(expected: "Parameters", found: body.name) }
        let parameters = body.children(named: "parameter").enumerated().filter { $0.element.value(of: "name") == "workflowType" }
        guard parameters.count == 1, let (index, parameter) = parameters.first else {
            throw DispensingError.invalidPrescription(reason: "Parameters must hold exactly one workflowType.", expression: "Parameters.parameter")
        }
        guard let coding = parameter.child("valueCoding"), coding.value(of: "system") == Systems.flowType,
              let code = coding.value(of: "code").flatMap(Int.init), let flowType = FlowType(rawValue: code)
        else {
            throw DispensingError.invalidPrescription(reason: "workflowType must be a GEM_ERP_CS_FlowType code.",
                                                      expression: "Parameters.parameter[\(index)].valueCoding")
        }
        return flowType
    }
}
