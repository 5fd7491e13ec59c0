import Dispensing
import FHIRModel
import Hummingbird
import HTTPTypes
import Foundation

/// The pharmacy's side of `GET /Task`: the search parameters of the eGK forms (fd-parity §1.1).
enum EGKSearch {
    static let parameters: [Route.SearchParameter] = [
        .init(name: "kvnr", type: "string", documentation: "pharmacies: the insurant's KVNR from the eGK (A_25208-01)"),
        .init(name: "pnw", type: "string", documentation: "pharmacies: the Konnektor's Prüfungsnachweis, base64(gzip(PN XML)) (A_23450)"),
        .init(name: "hcv", type: "string", documentation: "pharmacies: the hcv of the eGK's VSD, base64url (A_27346)"),
    ]
    /// The link URLs repeat the proof as the FD's do (fd-parity §1.5), besides the insurant's filters.
    static let applied: Set<String> = TaskSearch.applied.union(["kvnr", "pnw", "PNW", "hcv"])

    /// Flow types a pharmacy may redeem with the eGK (IBM `isEgkRedeemable`): 160 and 166 only.
    static let redeemable: Set<FlowType> = [.gkvPharmacy, .tPrescription]
}

extension TaskRoutes {
    /// `GET /Task?kvnr=…&pnw=…&hcv=…` by a pharmacy (fd-parity §1): checks in the FD's order
    /// (§1.3), the daily lock (§1.4), then the insurant's ready, unexpired 160/166 tasks with their
    /// AccessCode (A_23452-04, A_25209-01), 200, or 202 for an accepted PN3. The audit event of the
    /// check (26/28/30/31, §1.6) is written whether or not the request succeeds.
    static func egkSearch(_ env: ServerEnvironment, _ request: Request, _ context: ErxRequestContext) async throws -> Response {
        let caller = try Routes.caller(context)
        // A_22432-02: the PoPP form whenever the header is there (IBM takes this branch first).
        if let token = request.headers[HTTPField.Name("X-PoPP-Token")!] {
            let now = env.service.clock.now()
            guard let popp = env.egk.popp else { throw EGKRefusal.poppInvalid }
            let verified = try await popp.verify(token, telematikID: caller.telematikID?.rawValue, now: now).get()
            let query = try EGKQuery(request)  // a bad search parameter is refused before the read is audited
            try await env.service.store.record([AuditEntry(action: .popp(proofMethod: verified.proofMethod), prescriptionID: nil,
                                                           caller: caller, kvnr: verified.kvnr, recorded: now)])
            return try await egkAnswer(env, request, context, query: query, kvnr: verified.kvnr, now: now, status: .ok)
        }
        // Row 1: the lock counts per Telematik-ID, so a token without one is refused first.
        guard let telematikID = caller.telematikID else { throw EGKRefusal.telematikIDMissing }
        let now = env.service.clock.now()
        // Row 2 (A_27446): before any other check; the count is the store's, shared by all instances.
        let failures = env.service.store as? any ProofFailureStore
        guard try await !env.egk.lock.isBlocked(telematikID, now: now, in: failures) else { throw EGKRefusal.blockedForToday }
        let verdict = EGKProofCheck(env.egk).check(query: { Routes.query(request, $0) }, now: now)
        if verdict.countsAsFailure { try await env.egk.lock.recordFailure(telematikID, now: now, in: failures) }
        // After the proof (IBM's order), before the audit: a bad search parameter leaves no "tasks
        // retrieved" event behind; a refused proof's event is written whatever the query says.
        var query: EGKQuery?
        if case .success = verdict.outcome { query = try EGKQuery(request) }
        if let recorded = verdict.event {
            try await env.service.store.record([AuditEntry(action: recorded.event.action, prescriptionID: nil, caller: caller,
                                                           kvnr: recorded.kvnr, recorded: now)])
        }
        let kvnr = try verdict.outcome.get()
        return try await egkAnswer(env, request, context, query: try query ?? EGKQuery(request), kvnr: kvnr, now: now,
                                   status: verdict.offline ? .accepted : .ok)
    }

    /// §1.5: the insurant's redeemable tasks, searched, sorted and paged as the insurant's own.
    static func egkAnswer(_ env: ServerEnvironment, _ request: Request, _ context: ErxRequestContext, query: EGKQuery, kvnr: KVNR, now: Date,
                          status: HTTPResponse.Status) async throws -> Response {
        let (search, paging) = (query.search, query.paging)
        let today = CalendarDate.day(of: now)
        let redeemable = try await env.service.store.tasks(of: kvnr).filter { task in
            task.status == .ready && EGKSearch.redeemable.contains(task.flowType)
                && (task.expiryDate.map { $0 >= today } ?? false) && search.matches(task)
        }
        let matches = search.sort.sorted(redeemable) { key, left, right in TaskSearch.compare(key, left, right) }
        let links = SearchLinks(baseURL: env.baseURL, path: "/Task", request: request, applied: EGKSearch.applied)
            .links(paging, total: matches.count, withLast: true)
        let resources = paging.countOnly ? [] : paging.page(of: matches).map { TaskResource.element($0, visible: [.accessCode]) }
        let bundle = Bundles.matches(resources, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(), total: matches.count, links: links)
        return try Routes.respond(bundle, request, context, status: status)
    }
}

/// The search parameters of a pharmacy's `GET /Task`, read once the proof has been checked.
struct EGKQuery {
    let search: TaskSearch
    let paging: SearchPaging

    init(_ request: Request) throws {
        search = try TaskSearch(request)
        paging = try SearchPaging.parse(request)
    }
}
