import Foundation
import Hummingbird

/// `_count`, `__offset` and `_summary=count` of a search, and the links of its answer, as the
/// production service pages (A_24441-01, A_24442-01, A_24443-01, A_24444; fd-parity.md §4.1).
struct SearchPaging: Sendable, Hashable {
    /// The page size: `_count`, capped at ``maximumCount`` (R4: a server may return fewer).
    var count: Int
    var offset: Int
    /// Whether the request asked for a page (`_count` or `__offset`): only then do `self` and the
    /// other links carry them, as the production service writes them.
    var requested: Bool
    /// `_summary=count`: the total only, no entries (R4 search §3.1.1.5.8).
    var countOnly: Bool

    static let maximumCount = 50
    /// The largest `__offset` taken: beyond any insurant's data, and small enough that
    /// `offset + count` can never overflow.
    static let maximumOffset = 1_000_000

    /// The FD's texts for a `_count` or `__offset` it cannot use.
    static func parse(_ request: Request) throws(RequestError) -> SearchPaging {
        let parameters = request.uri.queryParameters
        var paging = SearchPaging(count: maximumCount, offset: 0, requested: false, countOnly: false)
        if let text = parameters["_count"].map(String.init) {
            guard let value = Int(text) else { throw .searchParameterRefused(name: "_count", text: "invalid numeric format in _count") }
            guard value >= 0 else { throw .searchParameterRefused(name: "_count", text: "_count can not be negative") }
            guard value > 0 else { throw .searchParameterRefused(name: "_count", text: "_count zero is not supported") }
            paging.count = min(value, maximumCount)
            paging.requested = true
        }
        if let text = parameters["__offset"].map(String.init) {
            guard let value = Int(text) else { throw .searchParameterRefused(name: "__offset", text: "invalid numeric format in __offset") }
            guard value >= 0 else { throw .searchParameterRefused(name: "__offset", text: "__offset can not be negative") }
            paging.offset = min(value, maximumOffset)
            paging.requested = true
        }
        paging.countOnly = parameters["_summary"].map(String.init) == "count"
        return paging
    }

    /// The page of `matches` this paging selects.
    func page<Item>(of matches: [Item]) -> ArraySlice<Item> {
        guard offset < matches.count else { return [] }
        return matches[offset..<min(matches.count, offset + count)]
    }
}

/// The links of a searchset: each repeats exactly the search parameters that were applied, in the
/// order the request gave them (R4 http §3.1.0.1: `self` shows what the server did, not what was
/// asked; unknown parameters are ignored and so not echoed).
struct SearchLinks {
    var url: String
    /// The applied parameters as `name=value` with the value percent-encoded.
    var applied: [String]

    init(baseURL: String, path: String, request: Request, applied names: Set<String>) {
        url = baseURL + path
        applied = request.uri.queryParameters.filter { names.contains(String($0.key)) }.map {
            "\($0.key)=\(String($0.value).addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")"
        }
    }

    func link(_ paging: SearchPaging?, offset: Int? = nil) -> String {
        var parameters = applied
        if let paging {
            parameters += ["_count=\(paging.count)", "__offset=\(offset ?? paging.offset)"]
        }
        return parameters.isEmpty ? url : url + "?" + parameters.joined(separator: "&")
    }

    /// `self`, `first`, `prev` (offset > 0), `next` (more matches), and `last` (when `total` is
    /// known and not 0): the Task search's five links (A_24443-01).
    func links(_ paging: SearchPaging, total: Int, withLast: Bool) -> [(relation: String, url: String)] {
        var links = [(relation: "self", url: link(paging.requested ? paging : nil))]
        links.append(("first", link(paging, offset: 0)))
        if paging.offset > 0 { links.append(("prev", link(paging, offset: max(0, paging.offset - paging.count)))) }
        if paging.offset + paging.count < total { links.append(("next", link(paging, offset: paging.offset + paging.count))) }
        if withLast, total > 0 { links.append(("last", link(paging, offset: (total - 1) / paging.count * paging.count))) }
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

/// The order of two sort values of a search: a missing value sorts last ascending.
enum SearchOrder {
    static func compare<Value: Comparable>(_ left: Value?, _ right: Value?) -> ComparisonResult {
        switch (left, right) {
        case let (left?, right?): left < right ? .orderedAscending : left > right ? .orderedDescending : .orderedSame
        case (nil, nil): .orderedSame
        case (nil, _): .orderedDescending
        case (_, nil): .orderedAscending
        }
    }
}

/// `_sort=a,-b`: the keys a search knows, in order, each ascending or descending; unknown keys are
/// ignored (A_24437, A_24440).
struct SearchSort<Key: Hashable & Sendable>: Sendable {
    var keys: [(key: Key, descending: Bool)]

    init(_ request: Request, known: [String: Key], default fallback: Key) {
        let text = request.uri.queryParameters["_sort"].map(String.init) ?? ""
        keys = text.split(separator: ",").compactMap { part in
            let descending = part.hasPrefix("-")
            return known[String(descending ? part.dropFirst() : part)].map { ($0, descending) }
        }
        if keys.isEmpty { keys = [(fallback, false)] }
    }

    /// Sorts by the keys in turn; `compare` orders two items by one key (ascending).
    func sorted<Item>(_ items: [Item], by compare: (Key, Item, Item) -> ComparisonResult) -> [Item] {
        items.enumerated().sorted { left, right in
            for (key, descending) in keys {
                let order = compare(key, left.element, right.element)
                if order != .orderedSame { return descending ? order == .orderedDescending : order == .orderedAscending }
            }
            return left.offset < right.offset
        }.map(\.element)
    }
}
