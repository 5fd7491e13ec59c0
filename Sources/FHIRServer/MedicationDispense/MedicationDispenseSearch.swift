public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

/// `GET /MedicationDispense` (insurants): their dispensations (A_19405-02, A_19406-01).
enum MedicationDispenseRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [search(env)]
    }

    /// Insurants: as the production service answers (fd-parity.md §5): the filters select whole dispensation
    /// sets by their first MedicationDispense; ascending by hand-over unless sorted otherwise
    /// (A_24438); no paging, `total` 0 and no links (A_24443-01); all MedicationDispenses, then
    /// all Medications. Audited (event 12). Pharmacies: their own history (ours, ``PharmacyHistory``).
    static func search(_ env: ServerEnvironment) -> Route {
        Route(.get, "/MedicationDispense", professions: [.insurant, .publicPharmacy, .hospitalPharmacy], resource: "MedicationDispense",
              interaction: .searchType, searchParameters: DispensationSearch.parameters,
              admits: { caller, request in
                  caller.profession == .insurant || (env.pharmacyReads != nil && PharmacyHistory.ownPerformer(caller, request) != nil)
              }) { request, context in
            let caller = try Routes.caller(context)
            if caller.profession.isPharmacy { return try await history(env, request, context) }
            let kvnr = try Routes.insurantKVNR(caller)
            let search = try DispensationSearch(request)
            let sets = search.sort.sorted(try await env.service.store.dispensationSets(of: kvnr).filter(search.matches)) { key, left, right in
                DispensationSearch.compare(key, left, right)
            }
            // Event 12 names the task only when the search named exactly one of the caller's own.
            var own = search.prescriptionIDs.count == 1 ? search.prescriptionIDs.first : nil
            if let named = own, try await env.service.store.task(named)?.kvnr != kvnr { own = nil }
            if request.method != .head {
                try await env.service.auditDispensationRead(of: kvnr, prescriptionID: own, caller: caller)
            }
            let dispensations = sets.flatMap(\.dispensations)
            let countOnly = Routes.query(request, "_summary") == "count"
            let bundle = Bundles.searchset(countOnly ? [] : dispensations, total: countOnly ? dispensations.count : 0,
                                           baseURL: env.baseURL, id: RandomIDGenerator.randomUUID())
            return try Routes.respond(bundle, request, context)
        }
    }
}

/// The parameters of `GET /MedicationDispense` (IBM `MedicationDispenseHandler`).
struct DispensationSearch {
    enum SortKey: Hashable, Sendable { case whenHandedOver, whenPrepared }

    static let parameters: [Route.SearchParameter] = [
        .init(name: "identifier", type: "token", documentation: "\(Systems.prescriptionID)|<PrescriptionID>; a comma list matches any"),
        .init(name: "whenhandedover", type: "date", documentation: "of the set's first MedicationDispense (default sort, ascending)"),
        .init(name: "whenprepared", type: "date", documentation: "of the set's first MedicationDispense"),
        .init(name: "performer", type: "token",
              documentation: "Telematik-ID of the dispensing pharmacy; pharmacies (ours): their own, required (their history)"),
        .init(name: "_sort", type: "special", documentation: "whenhandedover, whenprepared; '-' descending"),
    ]

    var prescriptionIDs: [PrescriptionID] = []
    var whenHandedOver: [DateSearch] = []
    var whenPrepared: [DateSearch] = []
    var performers: Set<String>?
    var sort: SearchSort<SortKey>

    init(_ request: Request) throws(RequestError) {
        let parameters = request.uri.queryParameters
        for text in parameters.getAll("identifier").map({ String($0) }) {
            // A_22070-03: the system is required; the production service answers a bare value with
            // its generic text.
            for value in text.split(separator: ",").map(String.init) {
                let parts = value.split(separator: "|", maxSplits: 1).map(String.init)
                guard parts.count == 2, parts[0] == Systems.prescriptionID, let id = PrescriptionID(parts[1]) else {
                    throw .searchParameterRefused(name: "identifier", text: "bad search parameter")
                }
                prescriptionIDs.append(id)
            }
        }
        whenHandedOver = try DateSearch.all("whenhandedover", in: request)
        whenPrepared = try DateSearch.all("whenprepared", in: request)
        let performers = parameters.getAll("performer").map { String($0) }
        if !performers.isEmpty { self.performers = Set(performers.flatMap { $0.split(separator: ",").map(String.init) }) }
        sort = SearchSort(request, known: ["whenhandedover": .whenHandedOver, "whenprepared": .whenPrepared], default: .whenHandedOver)
    }

    func matches(_ set: DispensationSet) -> Bool {
        guard let first = set.dispensations.first?.view else { return false }
        if !prescriptionIDs.isEmpty, !prescriptionIDs.contains(set.prescriptionID) { return false }
        if let performers, !first.performerIdentifiers.contains(where: { performers.contains($0.value ?? "") }) { return false }
        return whenHandedOver.allSatisfy { search in first.whenHandedOver.map(search.matches(value:)) ?? false }
            && whenPrepared.allSatisfy { search in first.whenPrepared.map(search.matches(value:)) ?? false }
    }

    static func compare(_ key: SortKey, _ left: DispensationSet, _ right: DispensationSet) -> ComparisonResult {
        let value: (DispensationSet) -> Date? = { set in
            let view = set.dispensations.first?.view
            return (key == .whenHandedOver ? view?.whenHandedOver : view?.whenPrepared).flatMap { DateSearch.range(of: $0)?.lower }
        }
        return SearchOrder.compare(value(left), value(right))
    }
}
