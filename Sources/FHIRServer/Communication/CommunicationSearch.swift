import Dispensing
import FHIRModel
import Hummingbird
import Foundation

extension CommunicationRoutes {
    /// `GET /Communication`: the caller's messages (A_19520-02), filtered (A_19522), sorted (default
    /// `sent` ascending, A_24438) and paged (A_19534); the recipient's unread ones are marked
    /// received (A_19521) — all of them, as IBM marks every returned message.
    static func search(_ env: ServerEnvironment) -> Route {
        Route(.get, "/Communication", professions: professions, resource: "Communication", interaction: .searchType,
              searchParameters: CommunicationSearch.parameters) { request, context in
            try refuseHead(request)
            let caller = try Routes.caller(context)
            let search = try CommunicationSearch(request)
            let paging = try SearchPaging.parse(request)
            let (total, page) = try await service(env).search(caller: caller) { all in
                let matches = search.sort.sorted(all.filter(search.matches)) { key, left, right in
                    let order: ComparisonResult = switch key {
                    case .sent: SearchOrder.compare(left.id, right.id)
                    case .received: SearchOrder.compare(left.received, right.received)
                    case .sender: SearchOrder.compare(left.sender, right.sender)
                    case .recipient: SearchOrder.compare(left.recipient, right.recipient)
                    }
                    return order == .orderedSame ? SearchOrder.compare(left.id, right.id) : order
                }
                return (matches.count, paging.countOnly ? [] : Array(paging.page(of: matches)))
            }
            let links = SearchLinks(baseURL: env.baseURL, path: "/Communication", request: request, applied: CommunicationSearch.applied)
                .links(paging, total: total, withLast: false)
            let bundle = Bundles.matches(page.map(CommunicationResource.element), baseURL: env.baseURL, id: RandomIDGenerator.randomUUID(),
                                         total: total, links: links)
            return try Routes.respond(bundle, request, context)
        }
    }
}

/// The parameters of `GET /Communication` (IBM `CommunicationGetHandler`, §1.7).
struct CommunicationSearch {
    enum SortKey: Hashable, Sendable { case sent, received, sender, recipient }

    static let parameters: [Route.SearchParameter] = [
        .init(name: "sent", type: "date", documentation: "Communication.sent (default sort, ascending)"),
        .init(name: "received", type: "date", documentation: "Communication.received; 'NULL' for unread"),
        .init(name: "sender", type: "token", documentation: "KVNR or Telematik-ID"),
        .init(name: "recipient", type: "token", documentation: "KVNR or Telematik-ID"),
        .init(name: "_sort", type: "special", documentation: "sent, received, sender, recipient; '-' descending"),
        .init(name: "_count", type: "number", documentation: "page size, 1…50 (larger is capped)"),
        .init(name: "__offset", type: "number", documentation: "first message of the page"),
    ]
    static let applied: Set<String> = ["sent", "received", "sender", "recipient", "_sort"]

    var sent: [DateSearch]
    var received: [DateSearch]
    /// `received=NULL` (upper case, `UrlArguments.cxx`): unread only.
    var unreadOnly = false
    var senders: Set<String>?
    var recipients: Set<String>?
    var sort: SearchSort<SortKey>

    init(_ request: Request) throws(RequestError) {
        let parameters = request.uri.queryParameters
        sent = try DateSearch.all("sent", in: request)
        var received: [DateSearch] = []
        for text in parameters.getAll("received").map({ String($0) }) {
            if text == "NULL" { unreadOnly = true; continue }
            guard let search = DateSearch(text) else { throw .invalidSearchParameter(name: "received") }
            received.append(search)
        }
        self.received = received
        func identities(_ name: String) -> Set<String>? {
            let values = parameters.getAll(name).flatMap { $0.split(separator: ",").map { String($0.split(separator: "|").last ?? $0) } }
            return values.isEmpty ? nil : Set(values)
        }
        senders = identities("sender")
        recipients = identities("recipient")
        sort = SearchSort(request, known: ["sent": .sent, "received": .received, "sender": .sender, "recipient": .recipient], default: .sent)
    }

    func matches(_ message: Communication) -> Bool {
        if let senders, !senders.contains(message.sender) { return false }
        if let recipients, !recipients.contains(message.recipient) { return false }
        if unreadOnly, message.received != nil { return false }
        guard sent.allSatisfy({ $0.matches(instant: message.sent) }) else { return false }
        guard !received.isEmpty else { return true }
        guard let at = message.received else { return false }
        return received.allSatisfy { $0.matches(instant: at) }
    }
}
