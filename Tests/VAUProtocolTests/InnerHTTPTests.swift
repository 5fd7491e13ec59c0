import HTTPTypes
import Testing
@testable import VAUProtocol

@Suite struct InnerHTTPTests {
    @Test func aRequestRoundTripsThroughTheParser() throws {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer a.b.c"
        fields[.contentType] = "application/fhir+json"
        let request = InnerHTTPRequest(head: HTTPRequest(method: .post, scheme: "https", authority: "erx.invalid",
                                                         path: "/Task/160.000.000.000.000.01/$accept?ac=1", headerFields: fields),
                                       body: Array("{}".utf8))
        let parsed = try InnerHTTPRequest(parsing: request.serialized())
        #expect(parsed.head.method == .post)
        #expect(parsed.head.path == "/Task/160.000.000.000.000.01/$accept?ac=1")
        #expect(parsed.head.headerFields[.authorization] == "Bearer a.b.c")
        #expect(parsed.body == Array("{}".utf8))
    }

    @Test func chunkedBodiesAreReadToo() throws {
        let raw = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
        let parsed = try InnerHTTPRequest(parsing: Array(raw.utf8))
        #expect(parsed.body == Array("ab".utf8))
        // Written back whole, with its length and without the chunking (found by fuzzing).
        #expect(try InnerHTTPRequest(parsing: parsed.serialized()).body == Array("ab".utf8))
    }

    @Test func incompleteTrailingAndUpgradeRequestsAreRefused() {
        #expect(throws: InnerHTTPRequest.ParseError.incomplete) {
            try InnerHTTPRequest(parsing: Array("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab".utf8))
        }
        #expect(throws: InnerHTTPRequest.ParseError.malformed) {
            try InnerHTTPRequest(parsing: Array("GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\n\r\n".utf8))
        }
        #expect(throws: InnerHTTPRequest.ParseError.malformed) { try InnerHTTPRequest(parsing: Array("NOT HTTP\r\n\r\n".utf8)) }
        #expect(throws: InnerHTTPRequest.ParseError.upgradeRequested) {
            try InnerHTTPRequest(parsing: Array("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n".utf8))
        }
    }

    @Test func anAnswerRoundTrips() throws {
        var fields = HTTPFields()
        fields[.contentType] = "application/fhir+xml;charset=utf-8"
        let response = InnerHTTPResponse(status: .created, headerFields: fields, body: Array("<x/>".utf8))
        let parsed = try InnerHTTPResponse(parsing: response.serialized())
        #expect(parsed.status.code == 201)
        #expect(parsed.headerFields[.contentType] == "application/fhir+xml;charset=utf-8")
        #expect(parsed.body == Array("<x/>".utf8))
    }
}
