import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Issue 19, item 1: no numeric input can trap. Each search parameter at the integer edges is
/// answered 200 or 400 (an `OperationOutcome` naming the parameter), never a crash. The paging
/// parameters are the insurant's Task search's (A_24441-01…A_24443-01): `_count` above 50 and
/// `__offset` beyond any data are capped, not refused; 0, negative and non-numeric are refused.
@Suite struct InputEdgeTests {
    @Test(arguments: [
        // (value, admitted)
        ("0", true), ("1000000", true), ("1000001", true), ("-1", false),
        ("9223372036854775807", true), ("9223372036854775808", false), ("-9223372036854775808", false),
        ("99999999999999999999999", false), ("1e3", false), ("", false), (" 1", false),
    ])
    func offsetAtTheIntegerEdges(value: String, admitted: Bool) async throws {
        try await search("/Task?__offset=\(value)", admitted: admitted, parameter: "__offset")
    }

    @Test(arguments: [
        ("1", true), ("100", true), ("0", false), ("101", true), ("-1", false),
        ("9223372036854775807", true), ("-9223372036854775808", false), ("9223372036854775808", false),
    ])
    func countAtTheIntegerEdges(value: String, admitted: Bool) async throws {
        try await search("/Task?_count=\(value)", admitted: admitted, parameter: "_count")
    }

    /// The largest offset with the largest page: the `next` link's arithmetic stays in range.
    @Test func largestOffsetWithLargestCountAnswersAPage() async throws {
        try await search("/Task?_count=100&__offset=1000000", admitted: true, parameter: "__offset")
    }

    @Test(arguments: ["ge99999-01-01", "9223372036854775807-01-01", "2025-13-45", "ge-0001-01-01", "2025-02-30x"])
    func handoverDatesOutOfRangeAreRefused(value: String) async throws {
        try await search("/MedicationDispense?whenhandedover=\(value)", admitted: false, parameter: "whenhandedover")
    }

    private func search(_ query: String, admitted: Bool, parameter: String) async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: .json, server: server)
            _ = try await TaskFactory(client: client).prepare(.dispensed)
            let insurant = try await server.token(.insurant, id: TestServer.kvnr)
            let reply = try await client.send(.get, query, token: insurant)
            if admitted {
                #expect(reply.status == .ok)
                #expect(try reply.resource().value(of: "type") == "searchset")
            } else {
                #expect(reply.status == .badRequest)
                #expect(try reply.issueCode() == "invalid")
                #expect(try reply.issueExpression()?.contains(parameter) == true)
            }
        }
    }
}
