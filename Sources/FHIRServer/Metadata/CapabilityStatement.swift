import Dispensing
import FHIRModel
import Foundation
import HTTPTypes

/// The server's CapabilityStatement, built from the route table so it cannot drift from what the
/// router serves: each operation and interaction with the professions admitted to it.
enum CapabilityStatement {
    static let software = "erx"
    static let version = "0.5.0"

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
        let resources = order.map { resource -> Element in
            let routes = byResource[resource] ?? []
            var children: [Element?] = [.primitive("type", resource)]
            for route in routes {
                switch route.interaction {
                case .read: children.append(.complex("interaction", [.primitive("code", "read"), documentation(route)]))
                case .searchType: children.append(.complex("interaction", [.primitive("code", "search-type"), documentation(route)]))
                case .create: children.append(.complex("interaction", [.primitive("code", "create"), documentation(route)]))
                case .conditionalDelete:
                    children.append(.complex("interaction", [.primitive("code", "delete"), documentation(route)]))
                    children.append(.primitive("conditionalDelete", "single"))
                case .operation, nil: break
                }
            }
            if resource == "MedicationDispense" {
                children.append(searchParam("identifier", "token"))
                children.append(searchParam("whenhandedover", "date"))
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
        return .complex("CapabilityStatement", [
            .primitive("id", "erx-server"),
            declaresLocked ? lockedResponse : nil,
            .primitive("status", "active"),
            .primitive("date", "2026-11-23"),
            .primitive("kind", "instance"),
            .complex("software", [.primitive("name", software), .primitive("version", version)]),
            .complex("implementation", [.primitive("description", "erx e-prescription dispensing service"), .primitive("url", baseURL)]),
            .primitive("fhirVersion", "4.0.1"),
            .primitive("format", "application/fhir+xml"),
            .primitive("format", "application/fhir+json"),
            .complex("rest", [.primitive("mode", "server")] + resources),
        ])
    }

    /// ARCHITECTURE decision 5: `$dispense` answers 423 when the insured person has objected. Declared
    /// with the TI extension the gematik capability statements use for the same answer (there an
    /// ePA JSON error; here an OperationOutcome with the detail code `locked`).
    static let lockedResponse = Element.complex("extension", [
        .primitive("url", "https://gematik.de/fhir/ti/StructureDefinition/extension-http-response-info"),
        responseInfo("statusCode", "423"),
        responseInfo("description", "The insured person objected to the medication process or to the submission of dispensation data: $dispense stores nothing."),
        responseInfo("responseType", "OperationOutcome"),
        responseInfo("errorCode", "locked"),
    ])

    private static func responseInfo(_ url: String, _ value: String) -> Element {
        .complex("extension", [.primitive("url", url), .primitive("valueString", value)])
    }

    /// Who may call it, from the route table.
    static func documentation(_ route: Route) -> Element? {
        guard let professions = route.professions else { return nil }
        let names = Profession.allCases.filter(professions.contains).map(\.name)
        return .primitive("documentation", "\(route.method.rawValue) \(route.path); allowed professions: \(names.joined(separator: ", "))")
    }

    static func searchParam(_ name: String, _ type: String) -> Element {
        .complex("searchParam", [.primitive("name", name), .primitive("type", type)])
    }
}
