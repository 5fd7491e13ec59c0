public import Crypto
import CryptoExtras
public import Dispensing
public import Foundation

/// The pseudonym of a Telematik-ID that names its subscription (A_22365 / IG-TIFLOW-CORE-348): the
/// AES-128-CMAC (RFC 4493) of the Telematik-ID's UTF-8 bytes, as 32 lowercase hex characters. It is
/// `Subscription.id`, the `subscriptionId` of the websocket token, and the key of the hub's map, so a
/// notification for a Telematik-ID finds its subscribers without the hub ever holding the ID itself.
///
/// The FD changes this key at least every three months (A_22383-01) and publishes under both keys
/// during a grace period; erx takes one key per process (rotation: restart with a new key file).
public struct TelematikPseudonyms: Sendable {
    public static let fileName = "subscription-pseudonym.key"
    let key: SymmetricKey

    /// `key` must be 16 bytes (AES-128).
    public init(key: SymmetricKey) throws {
        guard key.bitCount == 128 else { throw CryptoKitError.incorrectKeySize }
        self.key = key
    }

    /// A fresh key that lives only in memory (tests, and environments built without a data directory).
    public static func ephemeral() -> TelematikPseudonyms {
        TelematikPseudonyms(unchecked: SymmetricKey(size: .bits128))
    }

    private init(unchecked key: SymmetricKey) {
        self.key = key
    }

    /// The key of a file of 32 hex characters (surrounding whitespace ignored).
    public static func load(file: URL) throws -> TelematikPseudonyms {
        try parse(String(contentsOf: file, encoding: .utf8))
    }

    /// The key in `directory`, made there (mode 0600) on first use, as the other keys of the data directory.
    public static func loadOrCreate(in directory: URL) throws -> TelematikPseudonyms {
        try KeyFile.loadOrCreate(named: fileName, in: directory, parse: parse, make: ephemeral, pem: { $0.hexKey + "\n" })
    }

    static func parse(_ text: String) throws -> TelematikPseudonyms {
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(hex), bytes.count == 16 else { throw CryptoKitError.incorrectKeySize }
        return try TelematikPseudonyms(key: SymmetricKey(data: bytes))
    }

    private var hexKey: String { key.withUnsafeBytes { Hex.encode(Array($0)) } }

    /// The pseudonym of `telematikID`.
    public func pseudonym(of telematikID: TelematikID) -> String {
        Hex.encode(Self.cmac(key: key, message: Array(telematikID.rawValue.utf8)))
    }

    /// AES-CMAC (RFC 4493) of `message`, 16 bytes: swift-crypto's `CryptoExtras` `AES.CMAC` (4.x).
    static func cmac(key: SymmetricKey, message: [UInt8]) -> [UInt8] {
        // The key size is checked on every path that makes a `TelematikPseudonyms`; a CMAC of 16
        // bytes cannot be refused for a 128-bit key.
        guard var mac = try? AES.CMAC(key: key) else { return [] }
        mac.update(data: message)
        return Array(mac.finalize())
    }
}

/// Lowercase hex, both ways.
enum Hex {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
