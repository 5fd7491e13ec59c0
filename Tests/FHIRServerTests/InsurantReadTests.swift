import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The insurant's reads over HTTP, in JSON and XML, as the production service answers them
/// (fd-parity.md §4).
@Suite struct InsurantReadTests {
    static let formats: [WireFormat] = [.json, .xml]

    /// Runs `body` against a fresh server with a client in `format` and the insurant's token.
    func withServer(_ format: WireFormat, _ body: @escaping @Sendable (Client, TaskFactory, String) async throws -> Void) async throws {
        let server = try await TestServer()
        defer { Task { await server.remove() } }
        try await Application(router: server.router).test(.router) { client in
            let client = Client(client: client, format: format, server: server)
            let insurant = try await server.key.token(profession: Profession.insurant.rawValue, idNummer: TestServer.kvnr, name: "Erika Mustermann")
            try await body(client, try await TaskFactory(client: client), insurant)
        }
    }

    static func entries(_ bundle: Element) -> [(fullUrl: String, resource: Element)] {
        bundle.children(named: "entry").compactMap { entry in
            guard let resource = entry.child("resource")?.wrappedResource else { return nil }
            return (entry.value(of: "fullUrl") ?? "", resource)
        }
    }

    static func identifierValue(_ task: Element, _ system: String) -> String? {
        task.children(named: "identifier").first { $0.value(of: "system") == system }?.value(of: "value")
    }

    static func links(_ bundle: Element) -> [String: String] {
        Dictionary(bundle.children(named: "link").map { ($0.value(of: "relation") ?? "", $0.value(of: "url") ?? "") }) { first, _ in first }
    }

    /// A_19129-01, A_21532-02, A_21360-01: Tasks only, no Secret, no AccessCode for 169; drafts
    /// never; default order `authored-on` ascending (A_24438).
    @Test(arguments: formats)
    func theTaskSearchListsTasksOnly(format: WireFormat) async throws {
        try await withServer(format) { client, factory, insurant in
            _ = try await factory.prepare(.draft)
            let first = try await factory.prepare(.ready)
            let second = try await factory.prepare(.inProgress)
            let direct = try await factory.prepare(.ready, flowType: 169)
            let reply = try await client.send(.get, "/Task", token: insurant)
            #expect(reply.status == .ok)
            let bundle = try reply.resource()
            #expect(bundle.value(of: "type") == "searchset")
            #expect(bundle.value(of: "total") == "3")
            let entries = Self.entries(bundle)
            #expect(entries.map { $0.resource.value(of: "id") } == [first.id, second.id, direct.id])
            #expect(entries.allSatisfy { $0.resource.name == "Task" && $0.fullUrl == "http://erx.test/Task/\($0.resource.value(of: "id") ?? "")" })
            #expect(entries.allSatisfy { Self.identifierValue($0.resource, Systems.secret) == nil })
            #expect(Self.identifierValue(entries[0].resource, Systems.accessCode) == first.accessCode)
            #expect(Self.identifierValue(entries[2].resource, Systems.accessCode) == nil)
        }
    }

    /// A_24436-01, A_24437, A_24440: status and date filters, `_sort` with `-`.
    @Test(arguments: formats)
    func theTaskSearchFiltersAndSorts(format: WireFormat) async throws {
        try await withServer(format) { client, factory, insurant in
            let ready = try await factory.prepare(.ready)
            let accepted = try await factory.prepare(.inProgress)
            let cancelled = try await factory.prepare(.cancelled)
            func ids(_ query: String) async throws -> [String] {
                let reply = try await client.send(.get, "/Task\(query)", token: insurant)
                #expect(reply.status == .ok, "\(query)")
                return Self.entries(try reply.resource()).compactMap { $0.resource.value(of: "id") }
            }
            #expect(try await ids("?status=ready") == [ready.id])
            #expect(try await ids("?status=ready,in-progress") == [ready.id, accepted.id])
            #expect(try await ids("?status=cancelled") == [cancelled.id])
            #expect(try await ids("?_sort=-authored-on") == [cancelled.id, accepted.id, ready.id])
            // Unknown sort keys and parameters are ignored.
            #expect(try await ids("?_sort=date&unknown=1") == [ready.id, accepted.id, cancelled.id])
            let today = DateFormatter.germanDay.string(from: Date())
            #expect(try await ids("?authored-on=\(today)").count == 3)
            #expect(try await ids("?authored-on=lt\(today)").isEmpty)
            #expect(try await ids("?authored-on=ge\(today)&status=ready") == [ready.id])
            #expect(try await ids("?modified=gt2020-01-01").count == 3)
            // expiry-date: three months after authoredOn 2026-10-01 (A_19445).
            #expect(try await ids("?expiry-date=2027-01-01").count == 3)
            #expect(try await ids("?accept-date=le2026-10-29").count == 3)
            #expect(try await ids("?accept-date=gt2026-10-29").isEmpty)
        }
    }

    /// A_24441-01…A_24444: `_count` pages, the five links repeat the applied parameters, `total`
    /// counts all matches; `_summary=count` (R4) answers the total alone.
    @Test(arguments: formats)
    func theTaskSearchPages(format: WireFormat) async throws {
        try await withServer(format) { client, factory, insurant in
            var ids: [String] = []
            for _ in 0..<5 { ids.append(try await factory.prepare(.ready).id) }
            let reply = try await client.send(.get, "/Task?status=ready&ignored=x&_count=2&__offset=2", token: insurant)
            let bundle = try reply.resource()
            #expect(bundle.value(of: "total") == "5")
            #expect(Self.entries(bundle).compactMap { $0.resource.value(of: "id") } == Array(ids[2..<4]))
            let links = Self.links(bundle)
            #expect(links["self"] == "http://erx.test/Task?status=ready&_count=2&__offset=2")
            #expect(links["first"] == "http://erx.test/Task?status=ready&_count=2&__offset=0")
            #expect(links["prev"] == "http://erx.test/Task?status=ready&_count=2&__offset=0")
            #expect(links["next"] == "http://erx.test/Task?status=ready&_count=2&__offset=4")
            #expect(links["last"] == "http://erx.test/Task?status=ready&_count=2&__offset=4")
            // Following `next` gives the last page, which has no `next`.
            let last = try await client.send(.get, String(links["next"]!.dropFirst("http://erx.test".count)), token: insurant).resource()
            #expect(Self.entries(last).compactMap { $0.resource.value(of: "id") } == [ids[4]])
            #expect(Self.links(last)["next"] == nil)
            // Unpaged: `self` carries no paging; a `_count` beyond 50 is capped.
            let unpaged = try await client.send(.get, "/Task?_count=500", token: insurant).resource()
            #expect(Self.entries(unpaged).count == 5)
            #expect(Self.links(unpaged)["self"] == "http://erx.test/Task?_count=50&__offset=0")
            #expect(Self.links(try await client.send(.get, "/Task", token: insurant).resource())["self"] == "http://erx.test/Task")
            let count = try await client.send(.get, "/Task?_summary=count", token: insurant).resource()
            #expect(count.value(of: "total") == "5")
            #expect(Self.entries(count).isEmpty)
        }
    }

    /// A_21375-02, A_19029-06: the Task and the insurant's copy of the prescription, signed by the
    /// server, under the `urn:uuid:` the Task's input (DocumentType 2) names; a 169 task without its
    /// AccessCode (A_21360-01).
    @Test(arguments: formats)
    func theInsurantReadsTheTaskWithTheSignedPrescription(format: WireFormat) async throws {
        try await withServer(format) { client, factory, insurant in
            for flowType in [160, 169] {
                let prepared = try await factory.prepare(.ready, flowType: flowType)
                let reply = try await client.send(.get, "/Task/\(prepared.id)", token: insurant)
                #expect(reply.status == .ok)
                let bundle = try reply.resource()
                #expect(bundle.value(of: "type") == "collection")
                #expect(Self.links(bundle)["self"] == "http://erx.test/Task/\(prepared.id)")
                let entries = Self.entries(bundle)
                #expect(entries.count == 2)
                let task = try #require(entries.first?.resource)
                #expect(Self.identifierValue(task, Systems.accessCode) == (flowType == 169 ? nil : prepared.accessCode))
                let input = task.children(named: "input").first { $0.descendant("type", "coding", "code")?.value == "2" }
                let reference = try #require(input?.descendant("valueReference", "reference")?.value)
                let confirmation = try #require(entries.last)
                #expect(confirmation.fullUrl == reference)
                #expect(confirmation.fullUrl == "urn:uuid:\(confirmation.resource.value(of: "id") ?? "")")
                #expect(confirmation.resource.descendant("signature", "sigFormat")?.value == "application/jose")
                #expect(confirmation.resource.descendant("signature", "who", "reference")?.value == "http://erx.test/Device/1")
                #expect(ReceiptIssuer.verify(confirmation.resource, publicKey: client.server.receipts.publicKey))
            }
        }
    }

    /// A_19116-01 (ERP_EE_WF160_23): a representative reads with `X-AccessCode`; the read is event 2.
    @Test(arguments: formats)
    func aRepresentativeReadsWithTheAccessCode(format: WireFormat) async throws {
        try await withServer(format) { client, factory, insurant in
            let prepared = try await factory.prepare(.ready)
            let representative = try await client.server.key.token(profession: Profession.insurant.rawValue, idNummer: "Y123456789", name: "Max Vertreter")
            let denied = try await client.send(.get, "/Task/\(prepared.id)", token: representative)
            #expect(denied.status == .forbidden)
            #expect(denied.headers[HTTPField.Name("VAU-Error-Code")!] == "brute_force")
            let allowed = try await client.send(.get, "/Task/\(prepared.id)", token: representative,
                                                headers: [HTTPField.Name("X-AccessCode")!: prepared.accessCode])
            #expect(allowed.status == .ok)
            // The insurant sees who read it, as the representative's token names them.
            let audit = try await client.send(.get, "/AuditEvent?subtype=read", token: insurant, headers: [.acceptLanguage: "de"]).resource()
            let texts = Self.entries(audit).compactMap { $0.resource.descendant("text", "div")?.value }
            #expect(texts.contains { $0.contains("Max Vertreter hat das Rezept mit der ID \(prepared.id) heruntergeladen.") })
        }
    }

    /// A_19569-03: `_revinclude=AuditEvent:entity.what` adds this task's events, and only with that
    /// exact value.
    @Test(arguments: formats)
    func revincludeAddsTheTasksAuditEvents(format: WireFormat) async throws {
        try await withServer(format) { client, factory, insurant in
            let prepared = try await factory.prepare(.dispensed)
            _ = try await factory.prepare(.ready)
            let plain = try await client.send(.get, "/Task/\(prepared.id)?_revinclude=AuditEvent:entity", token: insurant).resource()
            #expect(Self.entries(plain).count == 2)
            let reply = try await client.send(.get, "/Task/\(prepared.id)?_revinclude=AuditEvent:entity.what", token: insurant,
                                              headers: [.acceptLanguage: "en"])
            let events = Self.entries(try reply.resource()).filter { $0.resource.name == "AuditEvent" }
            // activate, accept, dispense, the plain read before and this read.
            #expect(events.count == 5)
            #expect(events.allSatisfy { $0.fullUrl == "urn:uuid:\($0.resource.value(of: "id") ?? "")" })
            #expect(events.allSatisfy { $0.resource.descendant("entity", "description")?.value == prepared.id })
            #expect(events.compactMap { $0.resource.value(of: "language") }.allSatisfy { $0 == "en" })
            #expect(events.contains { $0.resource.descendant("text", "div")?.value?.contains("dispensed a prescription \(prepared.id).") == true })
        }
    }

    /// A_19226-02 and A_24179-01: the pharmacy's reads name their documents by `urn:uuid:` fullUrls
    /// that match the ids and the Task's references.
    @Test(arguments: formats)
    func pharmacyReadsNameDocumentsByMatchingUUIDs(format: WireFormat) async throws {
        try await withServer(format) { client, factory, _ in
            let pharmacy = factory.pharmacy
            let completed = try await factory.prepare(.completed)
            let bySecret = Self.entries(try await client.send(.get, "/Task/\(completed.id)?secret=\(completed.secret)", token: pharmacy).resource())
            #expect(bySecret.count == 2)
            let receipt = try #require(bySecret.last)
            #expect(receipt.fullUrl == "urn:uuid:\(receipt.resource.value(of: "id") ?? "")")
            let output = bySecret.first?.resource.descendant("output", "valueReference", "reference")?.value
            #expect(output == receipt.fullUrl)
            #expect(Self.identifierValue(bySecret[0].resource, Systems.accessCode) == nil)

            let accepted = try await factory.prepare(.inProgress)
            let byAccessCode = Self.entries(try await client.send(.get, "/Task/\(accepted.id)?ac=\(accepted.accessCode)", token: pharmacy).resource())
            #expect(byAccessCode.count == 2)
            #expect(Self.identifierValue(byAccessCode[0].resource, Systems.secret) == accepted.secret)
            let input = byAccessCode[0].resource.children(named: "input").first { $0.descendant("type", "coding", "code")?.value == "1" }
            let binary = try #require(byAccessCode.last)
            #expect(binary.resource.name == "Binary")
            #expect(input?.descendant("valueReference", "reference")?.value == binary.fullUrl)
            #expect(binary.fullUrl == "urn:uuid:\(binary.resource.value(of: "id") ?? "")")
        }
    }
}

extension DateFormatter {
    /// Today as the insurant's search means it: the German day.
    static let germanDay: DateFormatter = {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Europe/Berlin")
        return formatter
    }()
}
