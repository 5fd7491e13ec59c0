import Dispensing
import FHIRModel
import Hummingbird
import Foundation

/// The insurant's objection (ARCHITECTURE decision 5) as a FHIR `Consent`: `POST /Consent` records
/// it, `DELETE /Consent?category=` withdraws it, `GET /Consent` lists what the server holds.
///
/// A Consent is an objection (`provision.type` `deny`, policy `OPTOUT`) of one category: the ePA
/// function it objects to (``ObjectionCategory``), coded in ``ConsentResource/categorySystem``.
enum ConsentRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [
            Route(.post, "/Consent", professions: [.insurant], resource: "Consent", interaction: .create) { request, context in
                let caller = try Routes.caller(context)
                let body = try await RequestBodyReader.requiredResource(of: request, limits: env.limits, expected: "Consent")
                let category = try ConsentResource.category(of: body, caller: caller)
                if try await env.objections.objections(caller: caller).contains(where: { $0.source == .consentResource && $0.category == category }) {
                    throw RequestError.objectionExists
                }
                let objection = try await env.objections.object(category, caller: caller)
                // R4 create: a Location with the new id. It names no readable URL (`GET /Consent/{id}`
                // is 405; `GET /Consent` lists them), as at the production service's POST /Consent.
                return try Routes.respond(ConsentResource.element(objection), request, context, status: .created,
                                          headers: [.location: "\(env.baseURL)/Consent/\(ConsentResource.id(objection))"])
            },
            Route(.delete, "/Consent", professions: [.insurant], resource: "Consent", interaction: .conditionalDelete) { request, context in
                let caller = try Routes.caller(context)
                // A_22154: without a category there is no handler for the request (405).
                guard let text = Routes.query(request, "category") else { throw RequestError.consentCategoryMissing }
                guard let category = ObjectionCategory(rawValue: text) else { throw RequestError.invalidSearchParameter(name: "category") }
                guard try await env.objections.withdraw(category, caller: caller) else { throw RequestError.objectionNotFound }
                return Response(status: .noContent)
            },
            Route(.get, "/Consent", professions: [.insurant], resource: "Consent", interaction: .searchType) { request, context in
                let objections = try await env.objections.objections(caller: Routes.caller(context))
                let bundle = Bundles.matches(objections.map(ConsentResource.element), baseURL: env.baseURL, id: RandomIDGenerator.randomUUID())
                return try Routes.respond(bundle, request, context)
            },
        ]
    }
}

/// How an objection reads and writes as a FHIR `Consent`.
enum ConsentResource {
    /// Our code system for the objection categories: the ePA consent function ids.
    static let categorySystem = "https://erx.invalid/fhir/CodeSystem/objection-category"

    /// The category of a posted objection, after checking that it is one and that it is the caller's.
    static func category(of body: Element, caller: Caller) throws -> ObjectionCategory {
        guard body.name == "Consent" else { throw RequestError.wrongResource(expected: "Consent", found: body.name) }
        var codings: [(expression: String, coding: Element)] = []
        for (index, category) in body.children(named: "category").enumerated() {
            for (position, coding) in category.children(named: "coding").enumerated() {
                codings.append(("Consent.category[\(index)].coding[\(position)]", coding))
            }
        }
        let ours = codings.filter { $0.coding.value(of: "system") == categorySystem }
        guard ours.count == 1, let only = ours.first else {
            throw RequestError.invalidResource(reason: "A Consent must carry exactly one category coding of \(categorySystem).", expression: "Consent.category")
        }
        guard let category = only.coding.value(of: "code").flatMap(ObjectionCategory.init(rawValue:)) else {
            let codes = ObjectionCategory.allCases.map(\.rawValue).joined(separator: ", ")
            throw RequestError.invalidResource(reason: "The category code must be one of: \(codes).", expression: only.expression + ".code")
        }
        if let status = body.value(of: "status"), status != "active" {
            throw RequestError.invalidResource(reason: "An objection is recorded with status active.", expression: "Consent.status")
        }
        // This endpoint records objections only: a Consent that permits is not one.
        if let type = body.descendant("provision", "type")?.value, type != "deny" {
            throw RequestError.invalidResource(reason: "An objection has provision.type deny.", expression: "Consent.provision.type")
        }
        let patient = body.descendant("patient", "identifier")
        guard let value = patient?.value(of: "value") else {
            throw RequestError.invalidResource(reason: "The Consent must name the insured person by KVNR.", expression: "Consent.patient.identifier")
        }
        guard patient?.value(of: "system") == Systems.kvnr || patient?.value(of: "system") == Systems.pkvKVNR,
              let kvnr = KVNR(value), kvnr == caller.kvnr
        else { throw RequestError.consentOfAnotherInsurant(expression: "Consent.patient.identifier") }
        return category
    }

    static func id(_ objection: Objection) -> String { "objection-\(objection.source.rawValue)-\(objection.category.rawValue)" }

    static func element(_ objection: Objection) -> Element {
        .complex("Consent", [
            .primitive("id", id(objection)),
            .primitive("status", "active"),
            .complex("scope", [.coding(system: "http://terminology.hl7.org/CodeSystem/consentscope", code: "patient-privacy")]),
            .complex("category", [.coding(system: categorySystem, code: objection.category.rawValue)]),
            .complex("patient", [.identifier(system: Systems.kvnr, value: objection.kvnr.rawValue)]),
            .primitive("dateTime", FHIRInstant.format(objection.since)),
            .complex("policyRule", [.coding(system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "OPTOUT")]),
            .complex("provision", [
                .primitive("type", "deny"),
                // Where the server learnt of it: the insurant's own Consent, or the registry.
                .complex("code", [.coding(system: "https://erx.invalid/fhir/CodeSystem/objection-source", code: objection.source.rawValue)]),
            ]),
        ])
    }
}
