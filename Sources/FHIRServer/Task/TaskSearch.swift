public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

extension TaskRoutes {
    /// `GET /Task` (insurants): their tasks, filtered, sorted and paged as the production service
    /// does (A_19115-01, A_19129-01, A_24436-01…A_24444; fd-parity.md §4.1). Tasks only, never the
    /// Secret (A_21532-02) nor a directly assigned task's AccessCode (A_21360-01); no audit event.
    /// Pharmacies list an insurant's tasks with the eGK's proof (A_21558-02; ``egkSearch(_:_:_:)``),
    /// or, ours, their own tasks (``PharmacyWorklist``).
    static func search(_ env: ServerEnvironment) -> Route {
        Route(.get, "/Task", professions: [.insurant, .publicPharmacy, .hospitalPharmacy], resource: "Task", interaction: .searchType,
              searchParameters: TaskSearch.parameters + EGKSearch.parameters) { request, context in
            let caller = try Routes.caller(context)
            if caller.profession.isPharmacy {
                if let store = env.pharmacyReads, PharmacyWorklist.applies(to: request) { return try await worklist(env, store, request, context) }
                return try await egkSearch(env, request, context)
            }
            let kvnr = try Routes.insurantKVNR(caller)
            let search = try TaskSearch(request)
            let paging = try SearchPaging.parse(request)
            let matches = search.sort.sorted(try await env.service.store.tasks(of: kvnr).filter(search.matches)) { key, left, right in
                TaskSearch.compare(key, left, right)
            }
            let links = SearchLinks(baseURL: env.baseURL, path: "/Task", request: request, applied: TaskSearch.applied)
                .links(paging, total: matches.count, withLast: true)
            let resources = paging.countOnly ? [] : paging.page(of: matches).map {
                TaskResource.element($0, visible: $0.flowType.isDirectAssignment ? [] : [.accessCode])
            }
            let bundle = Bundles.matches(resources, baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(), total: matches.count, links: links)
            return try Routes.respond(bundle, request, context)
        }
    }
}

/// The insurant's Task search parameters (IBM `GetAllTasksHandler`; A_24436-01).
struct TaskSearch {
    enum SortKey: Hashable, Sendable { case authoredOn, modified, expiryDate, acceptDate }

    static let parameters: [Route.SearchParameter] = [
        .init(name: "status", type: "token", documentation: "Task.status; a comma list matches any; pharmacies (ours): their worklist of own tasks"),
        .init(name: "authored-on", type: "date", documentation: "Task.authoredOn (default sort, ascending)"),
        .init(name: "modified", type: "date", documentation: "Task.lastModified"),
        .init(name: "expiry-date", type: "date", documentation: "GEM_ERP_EX_ExpiryDate"),
        .init(name: "accept-date", type: "date", documentation: "GEM_ERP_EX_AcceptDate"),
        .init(name: "_sort", type: "special", documentation: "authored-on, modified, expiry-date, accept-date; the pharmacies' worklist: accepted; '-' descending"),
        .init(name: "_count", type: "number", documentation: "page size, 1…50 (larger is capped)"),
        .init(name: "__offset", type: "number", documentation: "first match of the page"),
    ]
    /// The parameters the links repeat: every one applied (`_count`/`__offset` are added by paging).
    static let applied: Set<String> = ["status", "authored-on", "modified", "expiry-date", "accept-date", "_sort", "_summary"]
    static let sortKeys: [String: SortKey] = ["authored-on": .authoredOn, "modified": .modified, "expiry-date": .expiryDate, "accept-date": .acceptDate]

    var statuses: Set<TaskStatus>?
    var authoredOn: [DateSearch] = []
    var modified: [DateSearch] = []
    var expiryDate: [DateSearch] = []
    var acceptDate: [DateSearch] = []
    var sort: SearchSort<SortKey>

    init(_ request: Request) throws(RequestError) {
        statuses = try Self.statuses(request)
        authoredOn = try DateSearch.all("authored-on", in: request)
        modified = try DateSearch.all("modified", in: request)
        expiryDate = try DateSearch.all("expiry-date", in: request)
        acceptDate = try DateSearch.all("accept-date", in: request)
        sort = SearchSort(request, known: Self.sortKeys, default: .authoredOn)
    }

    /// The `status` values: a comma list matches any, repeats intersect; `nil` without any.
    static func statuses(_ request: Request) throws(RequestError) -> Set<TaskStatus>? {
        var result: Set<TaskStatus>?
        for text in request.uri.queryParameters.getAll("status").map({ String($0) }) {
            var statuses = Set<TaskStatus>()
            for value in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
                guard let status = TaskStatus(rawValue: value) else {
                    throw .searchParameterRefused(name: "status", text: "Invalid value for status search parameter: \(value)")
                }
                statuses.insert(status)
            }
            result = result.map { $0.intersection(statuses) } ?? statuses
        }
        return result
    }

    /// Drafts never match (they have no insurant yet); cancelled tasks do.
    func matches(_ task: PrescriptionTask) -> Bool {
        guard task.status != .draft, statuses?.contains(task.status) ?? true else { return false }
        return authoredOn.allSatisfy { $0.matches(instant: task.createdAt) }
            && modified.allSatisfy { $0.matches(instant: task.lastModified) }
            && expiryDate.allSatisfy { search in task.expiryDate.map(search.matches(date:)) ?? false }
            && acceptDate.allSatisfy { search in task.acceptDate.map(search.matches(date:)) ?? false }
    }

    /// Tasks without the date sort last ascending; ties keep the store's order.
    static func compare(_ key: SortKey, _ left: PrescriptionTask, _ right: PrescriptionTask) -> ComparisonResult {
        switch key {
        case .authoredOn: SearchOrder.compare(left.createdAt, right.createdAt)
        case .modified: SearchOrder.compare(left.lastModified, right.lastModified)
        case .expiryDate: SearchOrder.compare(left.expiryDate, right.expiryDate)
        case .acceptDate: SearchOrder.compare(left.acceptDate, right.acceptDate)
        }
    }
}
