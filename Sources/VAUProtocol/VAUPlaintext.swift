public import Crypto

/// The decrypted request `p = "1" SP token SP request-id SP response-key SP inner-HTTP-request`
/// (A_20161-01 step 3; IBM `InnerTeeRequest::disassembleP`, `ErpTeeProtocol::decrypt`). The four
/// items are checked as the production service checks them, with its texts, because a client
/// that builds `p` wrongly sees them in the outer answer.
public struct VAUPlaintext: Sendable {
    /// The access token as it stands in `p`; the inner `Authorization` header must carry the same.
    public let accessToken: String
    /// The request id, lowercase hex as the answer repeats it (IBM re-encodes it).
    public let requestID: String
    /// The key the answer is encrypted with (AES-128).
    public let responseKey: SymmetricKey
    /// The inner HTTP/1.1 request, byte for byte.
    public let innerRequest: ArraySlice<UInt8>

    private static let space = UInt8(ascii: " ")

    public init(_ p: [UInt8]) throws(VAUError) {
        let versionEnd = try Self.itemEnd(p, from: 0)
        let tokenEnd = try Self.itemEnd(p, from: versionEnd)
        let requestIDEnd = try Self.itemEnd(p, from: tokenEnd)
        let keyEnd = try Self.itemEnd(p, from: requestIDEnd)
        let token = String(decoding: p[(versionEnd + 1)..<tokenEnd], as: UTF8.self)
        // IBM parses the token here (`JWT` constructor): one that is not three dot-separated
        // parts is a token error, answered outside with 401.
        guard token.utf8.count(where: { $0 == UInt8(ascii: ".") }) == 2 else { throw .unparsableToken }
        guard let id = Self.hex(p[(tokenEnd + 1)..<requestIDEnd]) else { throw .invalidHex(element: "request-id") }
        guard let key = Self.hex(p[(requestIDEnd + 1)..<keyEnd]) else { throw .invalidHex(element: "aes-key") }
        guard p[0..<versionEnd].elementsEqual("1".utf8) else { throw .wrongPlaintextVersion }
        guard key.count == 16 else { throw .wrongKeySize }
        accessToken = token
        requestID = Self.hexString(id)
        responseKey = SymmetricKey(data: key)
        innerRequest = p[(keyEnd + 1)...]
    }

    /// Builds `p` (the client's step 3).
    public static func assemble(accessToken: String, requestID: String, responseKey: [UInt8], innerRequest: [UInt8]) -> [UInt8] {
        Array("1 \(accessToken) \(requestID) \(hexString(responseKey)) ".utf8) + innerRequest
    }

    /// Where the item starting at `start` (after its separating space, unless it is the first)
    /// ends: the index of the space after it.
    private static func itemEnd(_ p: [UInt8], from start: Int) throws(VAUError) -> Int {
        guard p.count > start + 1 else { throw .malformedPlaintext("item is empty") }
        var begin = start
        if start > 0 {
            guard p[start] == space, p[start + 1] != space else { throw .malformedPlaintext("item is not separated by leading space") }
            begin = start + 1
        } else if p[0] == space {
            throw .malformedPlaintext("first item has leading separator")
        }
        guard let end = p[begin...].firstIndex(of: space) else { throw .malformedPlaintext("item has no end") }
        guard begin < end else { throw .malformedPlaintext("item is empty") }
        return end
    }

    static func hex(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        var high: UInt8?
        for character in text {
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
