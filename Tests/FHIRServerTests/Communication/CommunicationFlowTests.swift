import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import StoreTestSupport
import Testing

/// `/Communication` end to end over HTTP, on both stores and in both formats
/// (fd-messaging-transport §1.1–§1.8).
@Suite struct CommunicationFlowTests {
    typealias S = CommunicationTestSupport
    static let cases: [(StoreKind, WireFormat)] = StoreKind.allCases.flatMap { store in [WireFormat.json, .xml].map { (store, $0) } }

    /// A_19448-04, A_19520-02, A_19521: each type posted, answered 201 with `Location` and the stored
    /// message (id, sent, sender set by the server); the recipient's read sets `received`, the
    /// sender's does not; every answer valid against its profile.
    @Test(arguments: cases)
    func eachTypeIsPostedAndRead_A_19448(store: StoreKind, format: WireFormat) async throws {
        let tally = AnswerValidator.Tally()
        await AnswerValidator.loaded()
        try await S.withServer(format, store: store) { c in
            let task = try await c.factory.prepare(.ready)
            let posted = try await c.client.send(.post, "/Communication", token: c.insurantToken,
                                                 body: S.dispReq(task: task.id, accessCode: task.accessCode))
            let dispReq = try #require(try AnswerValidator.check(posted, route: "POST /Communication DispReq", status: .created, tally: tally))
            let id = try #require(dispReq.value(of: "id"))
            #expect(posted.headers[.location] == "http://erx.test/Communication/\(id)")
            #expect(dispReq.value(of: "sent") != nil)
            #expect(dispReq.value(of: "received") == nil)
            #expect(dispReq.descendant("sender", "identifier", "value")?.value == S.insurant)
            #expect(dispReq.descendant("sender", "identifier", "system")?.value == Systems.kvnr)

            // The sender's read sets nothing; the recipient's first read does, and keeps it.
            let bySender = try await c.client.send(.get, "/Communication/\(id)", token: c.insurantToken)
            #expect(try AnswerValidator.check(bySender, route: "GET /Communication/{id}", status: .ok, tally: tally)?.value(of: "received") == nil)
            let byRecipient = try await c.client.send(.get, "/Communication/\(id)", token: c.pharmacyToken)
            let received = try #require(try AnswerValidator.check(byRecipient, route: "GET /Communication/{id}", status: .ok, tally: tally)?.value(of: "received"))
            let again = try await c.client.send(.get, "/Communication/\(id)", token: c.pharmacyToken).resource()
            #expect(again.value(of: "received") == received)

            let reply = try await c.client.send(.post, "/Communication", token: c.pharmacyToken, body: S.reply(task: task.id))
            let replied = try #require(try AnswerValidator.check(reply, route: "POST /Communication Reply", status: .created, tally: tally))
            #expect(replied.descendant("sender", "identifier", "system")?.value == Systems.telematikID)

            let representative = try await c.client.send(.post, "/Communication", token: c.insurantToken,
                                                         body: S.representative(task: task.id, accessCode: task.accessCode))
            try AnswerValidator.check(representative, route: "POST /Communication Representative", status: .created, tally: tally)

            let diga = try await c.client.send(.post, "/Communication", token: c.insurerToken,
                                               body: S.reply(task: task.id, kind: "DiGA", payload: "Ihr Freischaltcode: ABC"))
            try AnswerValidator.check(diga, route: "POST /Communication DiGA", status: .created, tally: tally)

            // The insurant sees what they sent and received, in `sent` order.
            let search = try await c.client.send(.get, "/Communication", token: c.insurantToken)
            let bundle = try #require(try AnswerValidator.check(search, route: "GET /Communication", status: .ok, tally: tally))
            let entries = InsurantReadTests.entries(bundle)
            #expect(bundle.value(of: "total") == "4")
            #expect(entries.map { $0.resource.value(of: "id") ?? "" } == entries.map { $0.resource.value(of: "id") ?? "" }.sorted())
            #expect(entries.allSatisfy { $0.fullUrl == "http://erx.test/Communication/\($0.resource.value(of: "id") ?? "")" })
            #expect(bundle.children(named: "entry").allSatisfy { $0.descendant("search", "mode")?.value == "match" })
            // The other insurant sees only the Representative message, now received.
            let theirs = try await c.client.send(.get, "/Communication", token: c.otherInsurantToken).resource()
            let theirEntries = InsurantReadTests.entries(theirs)
            #expect(theirEntries.count == 1)
            #expect(theirEntries.first?.resource.value(of: "received") != nil)
        }
        #expect(tally.validated.contains("\(S.workflow)DispReq|1.6"))
    }

    /// A_20258, A_19027-06: only the sender deletes (204; another's message is 404); `$abort`
    /// removes the task's messages; `$close` keeps them.
    @Test(arguments: cases)
    func deleteBySenderAndAbortRemoveMessages_A_20258_A_19027(store: StoreKind, format: WireFormat) async throws {
        try await S.withServer(format, store: store) { c in
            let task = try await c.factory.prepare(.ready)
            let first = try await c.client.send(.post, "/Communication", token: c.insurantToken, body: S.dispReq(task: task.id, accessCode: task.accessCode))
            let id = try #require(try first.resource().value(of: "id"))
            #expect(try await c.client.send(.delete, "/Communication/\(id)", token: c.pharmacyToken).status == .notFound)
            #expect(try await c.client.send(.delete, "/Communication/\(id)", token: c.insurantToken).status == .noContent)
            #expect(try await c.client.send(.get, "/Communication/\(id)", token: c.insurantToken).status == .notFound)
            #expect(try await c.client.send(.delete, "/Communication/\(id)", token: c.insurantToken).status == .notFound)

            _ = try await c.client.send(.post, "/Communication", token: c.insurantToken, body: S.dispReq(task: task.id, accessCode: task.accessCode))
            _ = try await c.client.send(.post, "/Communication", token: c.pharmacyToken, body: S.reply(task: task.id))
            #expect(InsurantReadTests.entries(try await c.client.send(.get, "/Communication", token: c.insurantToken).resource()).count == 2)
            #expect(try await c.client.send(.post, "/Task/\(task.id)/$abort?ac=\(task.accessCode)", token: c.factory.doctor).status == .noContent)
            #expect(InsurantReadTests.entries(try await c.client.send(.get, "/Communication", token: c.insurantToken).resource()).isEmpty)
            #expect(InsurantReadTests.entries(try await c.client.send(.get, "/Communication", token: c.pharmacyToken).resource()).isEmpty)

            // §1.8: `$close` keeps them (E2E GetMessagesIT GET_09).
            let closed = try await c.factory.prepare(.dispensed)
            #expect(try await c.client.send(.post, "/Communication", token: c.pharmacyToken, body: S.reply(task: closed.id)).status == .created)
            #expect(try await c.client.send(.post, "/Task/\(closed.id)/$close?secret=\(closed.secret)", token: c.pharmacyToken).status == .ok)
            #expect(InsurantReadTests.entries(try await c.client.send(.get, "/Communication", token: c.insurantToken).resource()).count == 1)
        }
    }

    /// A_20229-01: the 11th Representative message between the same two insurants on a task is 429.
    @Test(arguments: StoreKind.allCases)
    func eleventhRepresentativeMessageIs429_A_20229(store: StoreKind) async throws {
        try await S.withServer(.json, store: store) { c in
            let task = try await c.factory.prepare(.ready)
            for index in 0..<10 {
                let (token, recipient) = index % 2 == 0 ? (c.insurantToken, S.otherInsurant) : (c.otherInsurantToken, S.insurant)
                let headers: HTTPFields = index % 2 == 0 ? [:] : [HTTPField.Name("X-AccessCode")!: task.accessCode]
                let reply = try await c.client.send(.post, "/Communication", token: token,
                                                    body: S.representative(task: task.id, accessCode: task.accessCode, recipient: recipient), headers: headers)
                #expect(reply.status == .created, "message \(index + 1): \(String(decoding: reply.bytes, as: UTF8.self))")
            }
            let refused = try await c.client.send(.post, "/Communication", token: c.insurantToken,
                                                  body: S.representative(task: task.id, accessCode: task.accessCode))
            #expect(refused.status == .tooManyRequests)
            #expect(try S.issue(refused).text == "there are already 10 KVNR to KVNR messages")
        }
    }

    /// A_19534, A_24438: `_count`, `__offset`, links, `_sort=-sent`; `received=NULL` and `sender`.
    @Test(arguments: StoreKind.allCases)
    func pagingSortingAndFilters_A_19534(store: StoreKind) async throws {
        try await S.withServer(.json, store: store) { c in
            let task = try await c.factory.prepare(.ready)
            var ids: [String] = []
            for _ in 0..<5 {
                let reply = try await c.client.send(.post, "/Communication", token: c.pharmacyToken, body: S.reply(task: task.id))
                ids.append(try #require(try reply.resource().value(of: "id")))
            }
            let unread = try await c.client.send(.get, "/Communication?received=NULL&_count=2", token: c.insurantToken).resource()
            #expect(unread.value(of: "total") == "5")
            #expect(InsurantReadTests.entries(unread).map { $0.resource.value(of: "id") ?? "" } == Array(ids.prefix(2)))
            #expect(InsurantReadTests.links(unread)["next"]?.contains("__offset=2") == true)
            // The page read is now received (A_19522: `received` with a prefix); three remain unread.
            #expect(try await c.client.send(.get, "/Communication?received=gt2020-01-01", token: c.insurantToken).resource().value(of: "total") == "2")
            #expect(try await c.client.send(.get, "/Communication?received=NULL", token: c.insurantToken).resource().value(of: "total") == "3")
            let descending = try await c.client.send(.get, "/Communication?_sort=-sent&_count=2&__offset=1", token: c.insurantToken).resource()
            #expect(InsurantReadTests.entries(descending).map { $0.resource.value(of: "id") ?? "" } == [ids[3], ids[2]])
            #expect(InsurantReadTests.links(descending)["prev"] != nil)
            let bySender = try await c.client.send(.get, "/Communication?sender=\(S.pharmacy)", token: c.insurantToken).resource()
            #expect(bySender.value(of: "total") == "5")
            let byOther = try await c.client.send(.get, "/Communication?sender=\(TestServer.otherPharmacyTelematikID)", token: c.insurantToken).resource()
            #expect(byOther.value(of: "total") == "0")
            // A_19522: `sent` with a prefix; a value that is no date is 400.
            #expect(try await c.client.send(.get, "/Communication?sent=ge2020-01-01", token: c.insurantToken).resource().value(of: "total") == "5")
            #expect(try await c.client.send(.get, "/Communication?sent=lt2020-01-01", token: c.insurantToken).resource().value(of: "total") == "0")
            #expect(try await c.client.send(.get, "/Communication?sent=yesterday", token: c.insurantToken).status == .badRequest)
            let zero = try await c.client.send(.get, "/Communication?_count=0", token: c.insurantToken)
            #expect(zero.status == .badRequest)
            #expect(try S.issue(zero).text == "_count zero is not supported")
        }
    }
}
