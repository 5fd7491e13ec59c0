import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /AuditEvent` and `/AuditEvent/{id}` over HTTP (fd-parity.md §6; A_19395…A_19402).
@Suite struct AuditEventTests {
    typealias R = InsurantReadTests

    /// A_19284-14, A_19302: one event per operation on the insurant's data, in German or English by
    /// `Accept-Language` (taken verbatim: `de-DE` is English), with the caller's name from the token.
    @Test(arguments: R.formats)
    func eachOperationIsAnEventWithTheFDsText(format: WireFormat) async throws {
        try await R().withServer(format) { client, factory, insurant in
            let organization = try await client.server.key.token(profession: Profession.publicPharmacy.rawValue,
                                                                 idNummer: TestServer.pharmacyTelematikID, name: "Adler-Apotheke")
            let prepared = try await factory.prepare(.ready)
            _ = try await client.send(.post, "/Task/\(prepared.id)/$accept?ac=\(prepared.accessCode)", token: organization)
            _ = try await client.send(.get, "/MedicationDispense", token: insurant)
            let german = try await client.send(.get, "/AuditEvent", token: insurant, headers: [.acceptLanguage: "de"]).resource()
            #expect(german.value(of: "total") == "0")  // A_24443-01
            let events = R.entries(german).map(\.resource)
            #expect(events.map { $0.value(of: "action") } == ["U", "U", "R"])
            let texts = events.compactMap { $0.descendant("text", "div")?.value }
            #expect(texts[0].contains("hat das Rezept mit der ID \(prepared.id) eingestellt."))
            #expect(texts[1].contains("Adler-Apotheke hat das Rezept mit der ID \(prepared.id) angenommen."))
            #expect(texts[2].contains("Erika Mustermann hat eine Liste mit Medikament-Informationen heruntergeladen."))
            #expect(events.allSatisfy { $0.value(of: "language") == "de" })
            #expect(events[1].descendant("agent", "who", "identifier", "value")?.value == TestServer.pharmacyTelematikID)
            #expect(events[2].descendant("agent", "who", "identifier", "system")?.value == Systems.kvnr)
            #expect(events[2].descendant("entity", "description")?.value == "+")
            #expect(events[0].descendant("entity", "what", "identifier", "value")?.value == prepared.id)
            #expect(events.allSatisfy { $0.descendant("entity", "name")?.value == TestServer.kvnr })
            for language in ["de-DE", "fr", ""] {
                let english = try await client.send(.get, "/AuditEvent", token: insurant, headers: [.acceptLanguage: language]).resource()
                let first = R.entries(english).first?.resource
                #expect(first?.value(of: "language") == "en")
                #expect(first?.descendant("text", "div")?.value?.contains("activated a prescription \(prepared.id).") == true)
            }
        }
    }

    /// A_19396: only the caller's own events; `/AuditEvent/{id}` answers 404 for another's and 400
    /// for an id that is no UUID.
    @Test(arguments: R.formats)
    func anInsurantSeesOnlyTheirOwnEvents(format: WireFormat) async throws {
        try await R().withServer(format) { client, factory, insurant in
            let other = try await client.server.token(.insurant, id: "Y123456789")
            let theirs = try await factory.prepare(.ready, kvnr: "Y123456789")
            _ = try await factory.prepare(.ready)
            let mine = R.entries(try await client.send(.get, "/AuditEvent", token: insurant).resource()).map(\.resource)
            #expect(mine.count == 1)
            #expect(mine.allSatisfy { $0.descendant("entity", "description")?.value != theirs.id })
            let id = try #require(mine.first?.value(of: "id"))
            let read = try await client.send(.get, "/AuditEvent/\(id)", token: insurant)
            #expect(read.status == .ok)
            #expect(try read.resource().value(of: "id") == id)
            let foreign = try await client.send(.get, "/AuditEvent/\(id)", token: other)
            #expect(foreign.status == .notFound)
            #expect(try foreign.issueCode() == "not-found")
            let malformed = try await client.send(.get, "/AuditEvent/\(id)x", token: insurant)
            #expect(malformed.status == .badRequest)
            let pharmacy = try await client.send(.get, "/AuditEvent", token: factory.pharmacy)
            #expect(pharmacy.status == .forbidden)
        }
    }

    /// `date`, `subtype`, `entity`, `_sort=-date`; paging with `self`, `first`, `prev`, `next` and
    /// never `last` (A_24443-01).
    @Test(arguments: R.formats)
    func theSearchFiltersSortsAndPages(format: WireFormat) async throws {
        try await R().withServer(format) { client, factory, insurant in
            let first = try await factory.prepare(.dispensed)   // activate, accept, dispense
            let second = try await factory.prepare(.ready)      // activate
            func ids(_ query: String) async throws -> [String] {
                let reply = try await client.send(.get, "/AuditEvent\(query)", token: insurant)
                #expect(reply.status == .ok, "\(query)")
                return R.entries(try reply.resource()).compactMap { $0.resource.descendant("entity", "description")?.value }
            }
            #expect(try await ids("") == [first.id, first.id, first.id, second.id])
            #expect(try await ids("?_sort=-date") == [second.id, first.id, first.id, first.id])
            #expect(try await ids("?entity=\(Systems.prescriptionID)%7C\(second.id)") == [second.id])
            #expect(try await ids("?subtype=read").isEmpty)
            #expect(try await ids("?subtype=update").count == 4)
            #expect(try await ids("?date=lt2020-01-01").isEmpty)
            #expect(try await ids("?date=ge2020-01-01").count == 4)

            let page = try await client.send(.get, "/AuditEvent?subtype=update&_count=2&__offset=1", token: insurant).resource()
            #expect(R.entries(page).count == 2)
            let links = R.links(page)
            #expect(links["self"] == "http://erx.test/AuditEvent?subtype=update&_count=2&__offset=1")
            #expect(links["first"] == "http://erx.test/AuditEvent?subtype=update&_count=2&__offset=0")
            #expect(links["prev"] == "http://erx.test/AuditEvent?subtype=update&_count=2&__offset=0")
            #expect(links["next"] == "http://erx.test/AuditEvent?subtype=update&_count=2&__offset=3")
            #expect(links["last"] == nil)
            #expect(page.value(of: "total") == "0")
            let zero = try await client.send(.get, "/AuditEvent?_count=0", token: insurant)
            #expect(zero.status == .badRequest)
        }
    }

    /// A `HEAD` hands nothing out, so it is no read event; a MedicationDispense search names a task
    /// in its event only when the task is the caller's own (found in review).
    @Test(arguments: R.formats)
    func onlyWhatWasHandedOutIsAuditedAndOnlyOwnTasksAreNamed(format: WireFormat) async throws {
        try await R().withServer(format) { client, factory, insurant in
            let mine = try await factory.prepare(.ready)
            let theirs = try await factory.prepare(.ready, kvnr: "Y123456789")
            #expect(try await client.send(.head, "/Task/\(mine.id)", token: insurant).status == .ok)
            #expect(try await client.send(.head, "/MedicationDispense", token: insurant).status == .ok)
            let afterHead = R.entries(try await client.send(.get, "/AuditEvent", token: insurant).resource())
            #expect(afterHead.allSatisfy { $0.resource.value(of: "action") != "R" })
            for id in [mine.id, theirs.id] {
                _ = try await client.send(.get, "/MedicationDispense?identifier=\(Systems.prescriptionID)%7C\(id)", token: insurant)
            }
            let reads = R.entries(try await client.send(.get, "/AuditEvent?subtype=read", token: insurant).resource()).map(\.resource)
            #expect(reads.compactMap { $0.descendant("entity", "description")?.value } == [mine.id, "+"])
        }
    }
}
