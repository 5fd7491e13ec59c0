public import Dispensing
import FHIRModel
public import Hummingbird
import HTTPTypes
import Foundation

/// The pharmacy's worklist (ours, beyond the FD; issue 24): `GET /Task?status=in-progress` by a
/// pharmacy lists the tasks it owns, for hospital and national dispensing services that work
/// through their accepted prescriptions.
///
/// The production service answers a pharmacy's `GET /Task` only with an eGK proof (IBM
/// `GetAllTasksHandler::handleRequestWithPnw`): without `kvnr` it refuses with 455 (423 when the
/// pharmacy is blocked today, 400 without a Telematik-ID). Our one deviation: a request with
/// `status` and none of the proof's parameters (`kvnr`, `pnw`, `PNW`, `hcv`) nor the
/// `X-PoPP-Token` header is answered with the worklist instead. Every other request keeps the
/// FD's answer: with a proof parameter or the header it is the eGK search; without `status` the
/// FD's refusal. The daily lock (A_27446) does not apply: it counts failed eGK proofs, and the
/// worklist takes none.
enum PharmacyWorklist {
    static let proofParameters = ["kvnr", "pnw", "PNW", "hcv"]
    /// The parameters the links repeat (`_count`/`__offset` are added by paging); the insurant's
    /// date filters are not applied here, so not repeated.
    static let applied: Set<String> = ["status", "_sort", "_summary"]
    /// `_sort=accepted` (the default, oldest acceptance first: a worklist is worked in the order
    /// it came) or `-accepted`.
    static let sortKeys = ["accepted": "accepted"]

    static func applies(to request: Request) -> Bool {
        let parameters = request.uri.queryParameters
        return request.headers[HTTPField.Name("X-PoPP-Token")!] == nil
            && !proofParameters.contains { parameters[$0[...]] != nil }
            && parameters["status"] != nil
    }
}

extension TaskRoutes {
    /// The worklist's answer: the caller's own tasks in the statuses asked, by the time it accepted
    /// them, paged in the store with the Task search's `_count`, `__offset`, `total` and links.
    /// No Secret (the owner holds it, and the FD lists none in a search, A_21532-02) and no AccessCode
    /// (the FD shows the owner none after `$accept`, fd-parity §2.4). No audit event: the pharmacy
    /// learns nothing it was not told at `$accept`, each of which was audited.
    static func worklist(_ env: ServerEnvironment, _ store: any PharmacyReadStore, _ request: Request,
                         _ context: ErxRequestContext) async throws -> Response {
        let caller = try Routes.caller(context)
        // The FD's first check of this request, with its answer.
        guard let telematikID = caller.telematikID else { throw EGKRefusal.telematikIDMissing }
        let statuses = try TaskSearch.statuses(request) ?? []
        let paging = try SearchPaging.parse(request)
        let sort = SearchSort(request, known: PharmacyWorklist.sortKeys, default: "accepted")
        let page = PageRequest(offset: paging.offset, count: paging.countOnly ? 0 : paging.count, descending: sort.keys.first?.descending ?? false)
        let result = try await store.worklist(WorklistQuery(owner: telematikID, statuses: statuses, page: page))
        let links = SearchLinks(baseURL: env.baseURL, path: "/Task", request: request, applied: PharmacyWorklist.applied)
            .links(paging, total: result.total, withLast: true)
        let resources = result.items.map { TaskResource.element($0, visible: []) }
        let bundle = Bundles.matches(resources, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(), total: result.total, links: links)
        return try Routes.respond(bundle, request, context)
    }
}
