public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

/// `GET /AuditEvent` and `GET /AuditEvent/{id}` (insurants): what was done with their data
/// (A_19395…A_19399, A_19402; fd-parity.md §6).
enum AuditEventRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [search(env), read(env)]
    }

    /// The insurant's events, oldest first unless `_sort=-date`, paged by `_count`/`__offset`.
    /// As the production service: `total` 0, and the links `self`, `first`, `prev` and `next`,
    /// never `last` (A_24443-01).
    static func search(_ env: ServerEnvironment) -> Route {
        Route(.get, "/AuditEvent", professions: [.insurant], resource: "AuditEvent", interaction: .searchType,
              searchParameters: AuditEventSearch.parameters) { request, context in
            let caller = try Routes.caller(context)
            let kvnr = try Routes.insurantKVNR(caller)
            let search = try AuditEventSearch(request)
            let paging = try SearchPaging.parse(request)
            let matches = search.sort.sorted(try await env.service.store.auditEntries(of: kvnr).filter(search.matches)) { _, left, right in
                let byTime = SearchOrder.compare(left.entry.recorded, right.entry.recorded)
                return byTime == .orderedSame ? SearchOrder.compare(left.id, right.id) : byTime
            }
            let language = AuditEventResource.Language(acceptLanguage: request.headers[.acceptLanguage])
            let links = SearchLinks(baseURL: env.baseURL, path: "/AuditEvent", request: request, applied: AuditEventSearch.applied)
                .links(paging, total: matches.count, withLast: false)
            let resources = paging.countOnly ? [] : paging.page(of: matches).map {
                AuditEventResource.element($0, language: language, reader: caller)
            }
            let bundle = Bundles.matches(resources, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(),
                                         total: paging.countOnly ? matches.count : 0, links: links)
            return try Routes.respond(bundle, request, context)
        }
    }

    static func read(_ env: ServerEnvironment) -> Route {
        Route(.get, "/AuditEvent/{id}", professions: [.insurant], resource: "AuditEvent", interaction: .read) { request, context in
            let caller = try Routes.caller(context)
            let kvnr = try Routes.insurantKVNR(caller)
            guard let id = context.parameters.get("id"), UUID(uuidString: id) != nil else {
                throw RequestError.auditEventIDMalformed
            }
            guard let event = try await env.service.store.auditEntry(id.lowercased(), of: kvnr) else { throw RequestError.auditEventNotFound }
            let language = AuditEventResource.Language(acceptLanguage: request.headers[.acceptLanguage])
            return try Routes.respond(AuditEventResource.element(event, language: language, reader: caller), request, context)
        }
    }
}

/// The parameters of `GET /AuditEvent` (IBM `AuditEventHandler`).
struct AuditEventSearch {
    enum SortKey: Hashable, Sendable { case date }

    static let parameters: [Route.SearchParameter] = [
        .init(name: "date", type: "date", documentation: "AuditEvent.recorded (default sort, ascending)"),
        .init(name: "subtype", type: "token", documentation: "create, read, update or delete"),
        .init(name: "entity", type: "reference", documentation: "\(Systems.prescriptionID)|<PrescriptionID>"),
        .init(name: "_sort", type: "special", documentation: "date; '-date' descending"),
        .init(name: "_count", type: "number", documentation: "page size, 1…50 (larger is capped)"),
        .init(name: "__offset", type: "number", documentation: "first event of the page"),
    ]
    static let applied: Set<String> = ["date", "subtype", "entity", "_sort", "_summary"]

    var dates: [DateSearch] = []
    var subtypes: Set<String>?
    var entities: Set<String>?
    var sort: SearchSort<SortKey>

    init(_ request: Request) throws(RequestError) {
        let parameters = request.uri.queryParameters
        dates = try DateSearch.all("date", in: request)
        let subtypes = parameters.getAll("subtype").flatMap { $0.split(separator: ",").map(String.init) }
        if !subtypes.isEmpty { self.subtypes = Set(subtypes) }
        let entities = parameters.getAll("entity").flatMap { $0.split(separator: ",").map(String.init) }
        if !entities.isEmpty {
            // `<system>|<id>` or the bare PrescriptionID.
            self.entities = Set(entities.map { $0.split(separator: "|").last.map(String.init) ?? $0 })
        }
        sort = SearchSort(request, known: ["date": .date], default: .date)
    }

    func matches(_ stored: StoredAuditEntry) -> Bool {
        let entry = stored.entry
        if let subtypes, !subtypes.contains(AuditEventResource.Kind(entry.action).interaction.code) { return false }
        if let entities, !entities.contains(entry.prescriptionID?.rawValue ?? "") { return false }
        return dates.allSatisfy { $0.matches(instant: entry.recorded) }
    }
}
