import Dispensing
import FHIRModel
import Foundation
import HTTPTypes

/// The server's CapabilityStatement, built from the route table so it cannot drift from what the
/// router serves: each operation, interaction and search parameter with the professions admitted.
/// It claims only what the server answers (R4 http.html): a route whose answer is none of R4's
/// interactions (`GET /Task/{id}` answers a Bundle, `GET /Device` one resource) is documented on its
/// resource, not declared as `read` or `search-type`.
enum CapabilityStatement {
    static let software = "erx"
    /// Our own version, not the production service's. gematik's suite reads `software.version` as
    /// an FD release (fd-parity §7.6: only `1.19`–`1.21` are recognised; anything else only weakens
    /// its `$dispense` check from "204" to a type check, which erx passes either way, answering 204
    /// as FD 1.21+). A client reading this statement must learn which software answers, so erx does
    /// not borrow an FD release number.
    static var version: String { ErxServer.version }
    /// The date of this statement's content (and the release it describes).
    static let date = "2026-12-15"

    /// `declaresLocked`: the 423 is ours (`--objection-response locked`); with `fd` it is never
    /// answered, so not declared.
    static func element(routes: [Route], baseURL: String, declaresLocked: Bool = true) -> Element {
        var byResource: [String: [Route]] = [:]
        var order: [String] = []
        for route in routes {
            guard let resource = route.resource else { continue }
            if byResource[resource] == nil { order.append(resource) }
            byResource[resource, default: []].append(route)
        }
        let resources = order.map { resource(type: $0, routes: byResource[$0] ?? []) }
        return .complex("CapabilityStatement", [
            .primitive("id", "erx-server"),
            declaresLocked ? lockedResponse : nil,
            .primitive("url", "\(baseURL)/metadata"),
            .primitive("version", version),
            .primitive("name", "ErxCapabilityStatement"),
            .primitive("title", "erx E-Rezept-Fachdienst CapabilityStatement"),
            .primitive("status", "active"),
            .primitive("date", date),
            .primitive("description", "What this erx server answers: the e-prescription workflow of the gematik E-Rezept-Fachdienst (Task operations, dispensation data) and its own extensions."),
            .primitive("kind", "instance"),
            .complex("software", [.primitive("name", software), .primitive("version", version), .primitive("releaseDate", date)]),
            .complex("implementation", [.primitive("description", "erx e-prescription dispensing service"), .primitive("url", baseURL)]),
            .primitive("fhirVersion", "4.0.1"),
            .primitive("format", "application/fhir+xml"),
            .primitive("format", "application/fhir+json"),
            .complex("rest", [
                .primitive("mode", "server"),
                .primitive("documentation", restDocumentation),
                security,
            ] + resources),
        ])
    }

    static let restDocumentation = """
        Answers come as application/fhir+json or application/fhir+xml (_format, then Accept, else JSON for \
        insurants and XML for institutions). HEAD is answered wherever GET is. A method and path that no \
        route answers gets 405 with an OperationOutcome; errors are OperationOutcomes with the production \
        service's status, issue code and text.
        """

    /// `rest.security`: bearer access tokens of the TI's identity provider, no SMART, no CORS.
    static let security = Element.complex("security", [
        .primitive("cors", "false"),
        .complex("service", [.coding(system: "http://terminology.hl7.org/CodeSystem/restful-security-service", code: "OAuth", display: "OAuth")]),
        .primitive("description", """
            Every route but /metadata and the operational probes needs an access token (ES256 JWT) in \
            Authorization: Bearer; its professionOID claim decides which routes it may call (403 otherwise). \
            A missing or invalid token is answered 401 with WWW-Authenticate. Not SMART on FHIR.
            """),
    ])

    static func resource(type: String, routes: [Route]) -> Element {
        var children: [Element?] = [.primitive("type", type)]
        let notes = routes.compactMap { route -> String? in
            guard case .custom(let text) = route.interaction else { return nil }
            return text + professionsNote(route)
        }
        if !notes.isEmpty { children.append(.primitive("documentation", notes.joined(separator: "\n\n"))) }
        for route in routes {
            switch route.interaction {
            case .read: children.append(interaction("read", route))
            case .searchType: children.append(interaction("search-type", route))
            case .create: children.append(interaction("create", route))
            case .conditionalDelete: children.append(interaction("delete", route))
            case .operation, .custom, nil: break
            }
        }
        if routes.contains(where: { $0.interaction == .conditionalDelete }) { children.append(.primitive("conditionalDelete", "single")) }
        for route in routes {
            for parameter in route.searchParameters {
                children.append(.complex("searchParam", [
                    .primitive("name", parameter.name), .primitive("type", parameter.type),
                    parameter.documentation.map { .primitive("documentation", $0) },
                ]))
            }
        }
        for route in routes {
            guard case .operation(let name) = route.interaction else { continue }
            children.append(.complex("operation", [
                .primitive("name", name),
                .primitive("definition", "https://gematik.de/fhir/erp/OperationDefinition/\(name.prefix(1).uppercased() + name.dropFirst())OperationDefinition"),
                documentation(route),
            ]))
        }
        return .complex("resource", children)
    }

    /// ARCHITECTURE decision 5: `$dispense` answers 423 when the insured person has objected. Declared
    /// with the TI extension the gematik capability statements use for the same answer (there an
    /// ePA JSON error; here an OperationOutcome with the detail code `locked`). Its definition is
    /// ours (`profiles/definitions`): no official package at hand carries it, and a validator
    /// that cannot resolve an extension refuses it (A_22927).
    static let lockedResponse = Element.complex("extension", [
        .primitive("url", lockedResponseExtension),
        responseInfo("statusCode", "423"),
        responseInfo("description", "The insured person objected to the medication process or to the submission of dispensation data: $dispense stores nothing."),
        responseInfo("responseType", "OperationOutcome"),
        responseInfo("errorCode", "locked"),
    ])
    static let lockedResponseExtension = "https://gematik.de/fhir/ti/StructureDefinition/extension-http-response-info"

    private static func responseInfo(_ url: String, _ value: String) -> Element {
        .complex("extension", [.primitive("url", url), .primitive("valueString", value)])
    }

    private static func interaction(_ code: String, _ route: Route) -> Element {
        .complex("interaction", [.primitive("code", code), documentation(route)])
    }

    /// Who may call it, from the route table.
    static func documentation(_ route: Route) -> Element? {
        guard route.professions != nil else { return nil }
        return .primitive("documentation", "\(route.method.rawValue) \(route.path)" + professionsNote(route))
    }

    private static func professionsNote(_ route: Route) -> String {
        guard let professions = route.professions else { return "" }
        if professions == Set(Profession.allCases) { return "; allowed professions: any" }
        let names = Profession.allCases.filter(professions.contains).map(\.name)
        var note = "; allowed professions: \(names.joined(separator: ", "))"
        if let byFlow = route.flowProfessions {
            // Grouped by the professions a flow admits (`$accept`: pharmacies for 160/166/169/200/209, insurers for 162).
            let groups = Dictionary(grouping: FlowType.allCases, by: byFlow)
            let parts = groups.sorted { $0.value[0].rawValue < $1.value[0].rawValue }.map { professions, flows in
                "\(flows.map { String($0.rawValue) }.joined(separator: "/")): \(Profession.allCases.filter(professions.contains).map(\.name).joined(separator: ", "))"
            }
            note += " (by flow type: \(parts.joined(separator: "; ")))"
        }
        return note
    }
}
