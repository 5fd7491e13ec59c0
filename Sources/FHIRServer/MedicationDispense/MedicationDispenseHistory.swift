public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

/// A pharmacy's dispensation history (ours, beyond the FD; issue 24):
/// `GET /MedicationDispense?performer=<own Telematik-ID>&whenhandedover=ge2026-01-01` lists the
/// MedicationDispenses it dispensed, by hand-over day, paged in the store.
///
/// The production service admits insurants only (A_19405-02) and refuses pharmacies with 403
/// (E2E ERP_EE_WF160_20). Our one deviation: a pharmacy whose request names exactly its own
/// Telematik-ID as `performer` (one value) gets its history. Any other pharmacy request, another
/// pharmacy's Telematik-ID included, keeps the FD's 403 with its text, checked where the FD checks
/// the profession (``Route/admits``): the answer does not depend on anybody's data, so it leaks
/// nothing, where an empty result for another pharmacy would be a new answer to a request the FD
/// defines.
enum PharmacyHistory {
    /// The parameters the links repeat (`_count`/`__offset` are added by paging).
    static let applied: Set<String> = ["performer", "whenhandedover", "_sort", "_summary"]

    /// The caller's Telematik-ID when the request's only `performer` value is it.
    static func ownPerformer(_ caller: Caller, _ request: Request) -> TelematikID? {
        let values = request.uri.queryParameters.getAll("performer").map { String($0) }
        guard caller.profession.isPharmacy, let own = caller.telematikID, values == [own.rawValue] else { return nil }
        return own
    }
}

extension MedicationDispenseRoutes {
    /// Whole MedicationDispenses (not the insurant's sets: a pharmacy pages through its own), each
    /// with its Medication as in the insurant's answer (MedicationDispenses first, then the
    /// Medications); `whenhandedover` with the FHIR date prefixes against the German hand-over
    /// day; ascending by it (as the FD's default, A_24438), `-whenhandedover` newest first; the
    /// Task search's `_count`, `__offset`, `total` and links. No audit event: the pharmacy reads
    /// what it sent itself, and each `$dispense` and `$close` was audited.
    static func history(_ env: ServerEnvironment, _ request: Request, _ context: ErxRequestContext) async throws -> Response {
        let caller = try Routes.caller(context)
        // `admits` let only these through; a request that got here otherwise is refused as the FD does.
        guard let store = env.pharmacyReads, let performer = PharmacyHistory.ownPerformer(caller, request) else {
            throw RequestError.professionNotAllowed(oid: caller.profession.rawValue)
        }
        let handedOver = try DateSearch.all("whenhandedover", in: request).map(\.dayRanges)
        let paging = try SearchPaging.parse(request)
        let sort = SearchSort(request, known: ["whenhandedover": "whenhandedover"], default: "whenhandedover")
        let page = PageRequest(offset: paging.offset, count: paging.countOnly ? 0 : paging.count, descending: sort.keys.first?.descending ?? false)
        let result = try await store.dispensationHistory(DispensationHistoryQuery(performer: performer, handedOver: handedOver, page: page))
        let links = SearchLinks(baseURL: env.baseURL, path: "/MedicationDispense", request: request, applied: PharmacyHistory.applied)
            .links(paging, total: result.total, withLast: true)
        let bundle = Bundles.searchset(result.items, total: result.total, baseURL: env.baseURL, links: links, id: RandomIDGenerator.randomUUID())
        return try Routes.respond(bundle, request, context)
    }
}
