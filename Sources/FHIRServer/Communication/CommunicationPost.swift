import Dispensing
import FHIRModel
import Hummingbird
import HTTPTypes

extension CommunicationRoutes {
    /// `POST /Communication`: §1.5's checks in the FD's order, store, 201 with `Location` and the
    /// stored message; then, for a DispReq or ChargChangeReq, the recipient's subscribers are told
    /// (A_22367-03), after the commit and without holding up the answer's content.
    static func post(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Communication", professions: professions, resource: "Communication", interaction: .create) { request, context in
            let caller = try Routes.caller(context)
            let service = try service(env)
            let validation = env.communicationValidation
            let today = CalendarDate.day(of: env.service.clock.now())
            let (resource, claimed) = try await RequestBodyReader.decode(request, limits: env.limits) { resource in
                guard let resource else { throw RequestError.bodyMissing(expectedResource: "Communication") }
                guard resource.name == "Communication" else { throw RequestError.wrongResource(expected: "Communication", found: resource.name) }
                return (resource, try validation.check(resource, today: today))
            }
            let stored = try await service.post(CommunicationView(unchecked: resource), kind: claimed.kind, profileVersion: claimed.version,
                                                caller: caller, headerAccessCode: request.headers[HTTPField.Name("X-AccessCode")!])
            if stored.kind == .dispReq || stored.kind == .chargChangeReq, let recipient = TelematikID(stored.recipient) {
                await env.notifier.messageArrived(for: recipient)
            }
            // IBM writes the constant base `http://prescriptionserver.telematik`; erx writes its own
            // base URL, as its other `Location`s and `fullUrl`s do.
            return try Routes.respond(CommunicationResource.element(stored), request, context, status: .created,
                                      headers: [.location: "\(env.baseURL)/Communication/\(stored.id)"])
        }
    }
}
