import HTTPTypes
import VAUProtocol

/// The VAU's parsers of what a client decrypts into the tunnel (issue 25): `p`'s five items and the
/// inner HTTP/1.1 request. Whatever parses must write back into a request that parses the same
/// (method, path, body), so the test client and `erx vau-request` say what the server reads.
enum VAUTarget {
    static func run(_ bytes: [UInt8]) {
        let inner: [UInt8]
        if let plaintext = try? VAUPlaintext(bytes) {
            guard plaintext.requestID.count % 2 == 0 else { violated("a request id of odd hex length") }
            inner = Array(plaintext.innerRequest)
        } else {
            inner = bytes
        }
        guard let request = try? InnerHTTPRequest(parsing: inner) else { return }
        guard let again = try? InnerHTTPRequest(parsing: request.serialized()) else {
            violated("a parsed inner request does not parse once written")
        }
        guard again.head.method == request.head.method, again.head.path == request.head.path, again.body == request.body else {
            violated("a written inner request reads back differently")
        }
    }
}
