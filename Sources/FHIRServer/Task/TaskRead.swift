public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

extension TaskRoutes {
    /// `GET /Task/{id}`: the task for the insurant (with the prescription) or the pharmacy (with its
    /// Secret and, once closed, the receipt).
    static func read(_ env: ServerEnvironment) -> Route {
        // Not R4's `read`: the production service answers a collection Bundle (Task and, by who asks,
        // the prescription or the receipt), and so does erx (fd-parity §4.2).
        Route(.get, "/Task/{id}", professions: Profession.pharmacies.union([.insurant]), resource: "Task",
              interaction: .custom("GET /Task/{id} answers a collection Bundle with the Task (and, by caller, the prescription or the receipt), not the plain Task")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            // A pharmacy names the secret or the AccessCode, checked before the task is looked up (IBM
            // GetTaskHandler; E2E ERP_TASK_GET_PHARMACY_14).
            if caller.profession.isPharmacy, Routes.query(request, "secret") == nil, Routes.accessCode(request) == nil {
                throw RequestError.credentialMissing
            }
            let task = try await env.service.readTask(id, secret: Routes.query(request, "secret"),
                                                      accessCode: Routes.accessCode(request), caller: caller)
            var entries: [Element] = [.entry(
                fullURL: "\(env.baseURL)/Task/\(task.id.rawValue)",
                resource: TaskResource.element(task, visible: caller.profession == .insurant ? [.accessCode] : [.secret])
            )]
            if let receipt = task.receipt, caller.profession != .insurant {
                entries.append(.entry(fullURL: "\(env.baseURL)/Bundle/\(task.id.rawValue)", resource: receipt))
            }
            let bundle = Element.complex("Bundle", [.primitive("id", RandomIDGenerator.randomUUID()), .primitive("type", "collection")] + entries)
            return try Routes.respond(bundle, request, context)
        }
    }
}
