public import Dispensing
import FHIRModel
import FHIRFormats
public import Hummingbird
public import HTTPTypes
import Foundation

extension TaskRoutes {
    /// `POST /Task/{id}/$close` (pharmacies and insurers for every flow, A_19230-01, as IBM registers
    /// it: only the holder of the Secret gets past it, and only the flow's role can have accepted):
    /// completes the task and answers the signed receipt.
    static func close(_ env: ServerEnvironment) -> Route {
        Route(.post, "/Task/{id}/$close", professions: Profession.redeemers, resource: "Task", interaction: .operation("close")) { request, context in
            let caller = try Routes.caller(context)
            let id = try Routes.prescriptionID(context)
            let secret = Routes.query(request, "secret")
            if RequestBodyReader.mayBeLarge(request, limits: env.limits) {
                try await env.service.admit(id, for: .close(secret: secret), caller: caller)
            }
            let parameters = env.dispensationParameters
            let body: Result<(dispensations: [Dispensation]?, profile: String?), any Error>
            do {
                body = .success(try await RequestBodyReader.decode(request, limits: env.limits) { resource in
                    (try resource.map { try parameters.dispensations(in: $0, for: .close) }, WorkflowProfileHeader.value(of: resource))
                })
            } catch {
                body = .failure(error)
            }
            let task = try await env.service.close(id, secret: secret, caller: caller, body: body.map(\.dispensations),
                                                   signingTime: { try? CMSContents($0).signingTime })
            guard let receipt = task.receipt else { throw RequestError.routeNotFound }
            let sent = try? body.get()
            var headers: HTTPFields = sent?.profile.map { [WorkflowProfileHeader.name: $0] } ?? [:]
            if id.flowType == .diga {
                headers[digaRedeemCodeHeader] = containsRedeemCode(sent?.dispensations ?? []) ? "1" : "0"
            }
            return try Routes.respond(receipt, request, context, headers: headers)
        }
    }

    /// A_23090-07's header on a DiGA close: `1` when a dispensation of the body carries a redeem code,
    /// else `0` (also when the body had none: IBM asks only the body, `CloseTaskHandler`).
    static let digaRedeemCodeHeader = HTTPField.Name("Diga-Redeem-Code")!
    static let redeemCodeExtension = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_RedeemCode"

    /// IBM `MedicationsAndDispenses::containsDigaRedeemCode`: a non-empty `GEM_ERP_EX_RedeemCode`.
    static func containsRedeemCode(_ dispensations: [Dispensation]) -> Bool {
        dispensations.contains { dispensation in
            dispensation.medicationDispense.extensions(redeemCodeExtension).contains { !($0.value(of: "valueString") ?? "").isEmpty }
        }
    }
}
