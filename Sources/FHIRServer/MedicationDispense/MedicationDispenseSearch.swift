public import Dispensing
import FHIRModel
public import Hummingbird
import Foundation

/// `GET /MedicationDispense` (insurants): the insurant's dispensations.
enum MedicationDispenseRoutes {
    static func routes(_ env: ServerEnvironment) -> [Route] {
        [search(env)]
    }

    /// The parameters of the production service (fd-parity §5).
    static let searchParameters: [Route.SearchParameter] = [
        .init("identifier", "token", "The PrescriptionID: https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId|<id>"),
        .init("whenhandedover", "date", "Day of handing over, with the prefixes eq, ne, lt, le, gt, ge"),
        .init("whenprepared", "date", "Day of preparation, with the prefixes eq, ne, lt, le, gt, ge"),
        .init("performer", "string", "The Telematik-ID of the dispensing pharmacy"),
        .init("_sort", "special", "whenhandedover or whenprepared, - for descending; default whenhandedover ascending"),
    ]

    static func search(_ env: ServerEnvironment) -> Route {
        Route(.get, "/MedicationDispense", professions: [.insurant], resource: "MedicationDispense", interaction: .searchType,
              searchParameters: searchParameters) { request, context in
            guard let kvnr = try Routes.caller(context).kvnr else { throw DispensingError.notTheInsurantsTask }
            let query = try DispensationSearch.query(request, kvnr: kvnr)
            let page = try await env.service.store.dispensations(matching: query)
            let links = DispensationSearch.links(request, query: query, total: page.total, baseURL: env.baseURL)
            let bundle = Bundles.searchset(page.dispensations, total: page.total, baseURL: env.baseURL, links: links, id: RandomIDGenerator.randomUUID())
            return try Routes.respond(bundle, request, context)
        }
    }
}

/// `GET /MedicationDispense` parameters: `identifier=<system>|<PrescriptionID>`, `whenhandedover=`
/// (with `eq`/`ne`/`lt`/`le`/`gt`/`ge`, repeatable), `_count` (1…100, default 50) and `__offset`
/// (0…``maximumOffset``).
enum DispensationSearch {
    /// The largest `__offset` taken: far beyond any insurant's dispensations, and small enough that
    /// `offset + count` (the next page's link) can never overflow.
    static let maximumOffset = 1_000_000


    static func query(_ request: Request, kvnr: KVNR) throws(RequestError) -> DispensationQuery {
        var query = DispensationQuery(kvnr: kvnr)
        let parameters = request.uri.queryParameters
        if let identifier = parameters["identifier"].map(String.init) {
            let value = identifier.split(separator: "|", maxSplits: 1).map(String.init)
            guard value.count == 2 ? value[0] == Systems.prescriptionID : value.count == 1,
                  let id = PrescriptionID(value.last ?? "")
            else { throw .invalidSearchParameter(name: "identifier") }
            query.prescriptionID = id
        }
        for raw in parameters.getAll("whenhandedover") {
            let text = String(raw)
            let prefix = DateComparison.Prefix(rawValue: String(text.prefix(2)))
            let date = prefix == nil ? text : String(text.dropFirst(2))
            guard date.utf8.count == 10, CalendarDate.datePart(of: date) == date, PrimitiveType.date.isValid(date) else {
                throw .invalidSearchParameter(name: "whenhandedover")
            }
            query.whenHandedOver.append(DateComparison(prefix: prefix ?? .eq, date: date))
        }
        if let count = parameters["_count"] {
            guard let value = Int(count), (1...100).contains(value) else { throw .invalidSearchParameter(name: "_count") }
            query.count = value
        }
        if let offset = parameters["__offset"] {
            guard let value = Int(offset), (0...maximumOffset).contains(value) else { throw .invalidSearchParameter(name: "__offset") }
            query.offset = value
        }
        return query
    }

    /// `self`, and `next`/`prev` when there are more pages, keeping the other search parameters.
    static func links(_ request: Request, query: DispensationQuery, total: Int, baseURL: String) -> [(relation: String, url: String)] {
        let kept = request.uri.queryParameters.filter { $0.key != "__offset" && $0.key != "_count" }
            .map { "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")" }
        func url(offset: Int) -> String {
            "\(baseURL)/MedicationDispense?" + (kept + ["_count=\(query.count)", "__offset=\(offset)"]).joined(separator: "&")
        }
        var links = [(relation: "self", url: url(offset: query.offset))]
        if query.offset + query.count < total { links.append(("next", url(offset: query.offset + query.count))) }
        if query.offset > 0 { links.append(("prev", url(offset: max(0, query.offset - query.count)))) }
        return links
    }
}

extension CharacterSet {
    /// Characters a query value may hold unescaped (`&`, `=`, `+` and `|` are escaped).
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.urlQueryAllowed
        set.remove(charactersIn: "&=+|")
        return set
    }()
}
