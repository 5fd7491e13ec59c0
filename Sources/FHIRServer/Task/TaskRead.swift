public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

extension TaskRoutes {
    /// `GET /Task/{id}`: the insurant (or a representative) gets the task with their copy of the
    /// prescription; a pharmacy gets it with the Secret, and with the receipt (`?secret=`, once
    /// closed) or the prescription (`?ac=`, the Secret recovery). fd-parity.md §2.4, §3.3, §4.2.
    static func read(_ env: ServerEnvironment) -> Route {
        // Not R4's `read`: the production service answers a collection Bundle (Task and, by who asks,
        // the prescription or the receipt), and so does erx (fd-parity §4.2).
        // Insurers read as pharmacies do (A_19113-02: IBM admits `oid_kostentraeger` for every flow).
        Route(.get, "/Task/{id}", professions: Profession.redeemers.union([.insurant]), resource: "Task",
              interaction: .custom("GET /Task/{id} answers a collection Bundle with the Task (and, by caller, the prescription or the receipt), not the plain Task")) { request, context in
            let caller = try Routes.caller(context)
            let (task, access) = try await env.service.readTask(Routes.prescriptionID(context), secret: Routes.query(request, "secret"),
                                                                accessCode: Routes.accessCode(request), caller: caller,
                                                                audited: request.method != .head)
            let now = env.service.clock.now()
            let taskURL = "\(env.baseURL)/Task/\(task.id.rawValue)"
            let bundle: Element
            switch access {
            case .insurant:
                let entries = try await insurantEntries(task, request, caller: caller, env: env, now: now)
                bundle = collection(selfLink: taskURL, entries: entries)
            case .pharmacyWithSecret:
                // The receipt only once completed, under the `urn:uuid:` of its id (A_19226-02).
                var entries: [Element] = [.entry(fullURL: taskURL, resource: TaskResource.element(task, visible: [.secret]))]
                if task.status == .completed, let receipt = task.receipt {
                    entries.append(.entry(fullURL: "urn:uuid:\(receipt.value(of: "id") ?? "")", resource: receipt))
                }
                bundle = collection(selfLink: taskURL, entries: entries)
            case .pharmacyWithAccessCode:
                bundle = Bundles.prescriptionCollection(task, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(), now: now, selfLink: taskURL)
            }
            return try Routes.respond(bundle, request, context)
        }
    }

    /// The insurant's entries: the Task (no Secret; no AccessCode for a directly assigned task,
    /// A_21360-01), their signed copy of the prescription, and with
    /// `_revinclude=AuditEvent:entity.what` the AuditEvents of this task (A_19569-03).
    static func insurantEntries(_ task: PrescriptionTask, _ request: Request, caller: Caller, env: ServerEnvironment, now: Date) async throws -> [Element] {
        var entries: [Element] = [.entry(fullURL: "\(env.baseURL)/Task/\(task.id.rawValue)",
                                         resource: TaskResource.element(task, visible: task.flowType.isDirectAssignment ? [] : [.accessCode]))]
        if let prescription = task.prescription {
            let id = TaskDocuments.uuid(.patientConfirmation, of: task.id)
            let copy = try env.documentSigner.map {
                try $0.patientConfirmation(of: prescription, id: id, deviceURL: "\(env.baseURL)/Device/1", now: now)
            } ?? prescription
            entries.append(.entry(fullURL: "urn:uuid:\(id)", resource: copy))
        }
        if Routes.query(request, "_revinclude") == "AuditEvent:entity.what", let kvnr = task.kvnr {
            let language = AuditEventResource.Language(acceptLanguage: request.headers[.acceptLanguage])
            let events = try await env.service.store.auditEntries(of: kvnr).filter { $0.entry.prescriptionID == task.id }
            for event in events {
                entries.append(.entry(fullURL: "urn:uuid:\(event.id)",
                                      resource: AuditEventResource.element(event, language: language, reader: caller)))
            }
        }
        return entries
    }

    static func collection(selfLink: String, entries: [Element]) -> Element {
        .complex("Bundle", [
            .primitive("id", RandomIDGenerator.randomUUID()),
            .complex("link", [.primitive("relation", "self"), .primitive("url", selfLink)]),
            .primitive("type", "collection"),
        ] + entries)
    }
}
