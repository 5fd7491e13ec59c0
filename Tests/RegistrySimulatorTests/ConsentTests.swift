import HTTPTypes
import HummingbirdTesting
import RegistrySimulator
import Testing

@Suite struct ConsentTests {
    @Test func permitsByDefault() async throws {
        try await withSimulator { client in
            let response = try await client.consent(kvnr: kvnr)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.text == #"{"data":[{"functionId":"medication","decision":"permit"},{"functionId":"erp-submission","decision":"permit"}]}"#)
        }
    }

    @Test func deniesForAKVNRInDeny() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"deny":["\#(kvnr)"]}"#)
            let denied = try await client.consent(kvnr: kvnr)
            #expect(denied.text == #"{"data":[{"functionId":"medication","decision":"deny"},{"functionId":"erp-submission","decision":"deny"}]}"#)
            let other = try await client.consent(kvnr: "Y987654321")
            #expect(other.text.contains(#""decision":"permit""#))
        }
    }

    @Test(arguments: [nil, "", "x123456789", "X12345678", "X1234567890", "XX23456789"])
    func refusesAMissingOrMalformedKVNR(_ header: String?) async throws {
        try await withSimulator { client in
            let response = try await client.consent(kvnr: header)
            #expect(response.status == .badRequest)
            #expect(response.text.hasPrefix(#"{"errorCode":"malformedRequest","errorDetail":"#))
        }
    }

    @Test func answers503WhileDown() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"down":true}"#)
            let response = try await client.consent(kvnr: kvnr)
            #expect(response.status == .serviceUnavailable)
            #expect(response.text == #"{"errorCode":"serviceUnavailable"}"#)
        }
    }
}
