public import Crypto
public import Foundation

/// The check digit (`PZ`) of a PN: 47 bytes, 64 base64 characters, in one of two versions
/// (gemSpec_FM_VSDM; IBM `GetTaskHandler.cxx`, `VsdmProof.cxx`):
///
/// * v1 (first byte `A`…`Z`): KVNR (10 ASCII), unix time (10 ASCII digits), one byte (the
///   reason of the check), operator id, key version, then the first 24 bytes of
///   HMAC-SHA256(key, bytes 0…22) (A_23454, A_23456-01).
/// * v2 (first byte > 128): a header byte (operator = ((b & 0x7f) >> 2) + `A`, version = b & 3),
///   a 12-byte IV, 18 bytes of AES-128-GCM ciphertext and its 16-byte tag, no additional data;
///   the key is HKDF-SHA256(shared secret, no salt, info "VSDM+ Version 2 AES/GCM", 16 bytes).
///   Plaintext: hcv (5 bytes, the top bit of the first = eGK revoked), iat (3 bytes big-endian,
///   (unix seconds − 2025-01-01T00:00Z) >> 3), KVNR (10 ASCII) (A_27279).
public enum VSDMCheckDigit: Sendable, Hashable {
    case v1(V1)
    case v2(V2)

    public static let size = 47
    public static let base64Size = 64
    /// 2025-01-01T00:00:00Z, the epoch of v2's `iat`.
    public static let v2Epoch: Int64 = 1_735_689_600
    static let v2Info = Array("VSDM+ Version 2 AES/GCM".utf8)

    public enum FormatFailure: Error, Sendable, Hashable {
        /// `Invalid size of Prüfziffer`
        case invalidSize
        /// `Ungültiges Format der Prüfziffer.`
        case invalidFormat
    }

    public struct V1: Sendable, Hashable {
        public var kvnr: String
        /// `nil` when the ten digits are no number (then the time check fails, as the FD's).
        public var issuedAt: Int64?
        public var operatorID: Character
        public var version: Character
        let signed: [UInt8]
        let mac: [UInt8]

        /// A_23456-01: the operator's key is known and the truncated HMAC matches.
        public func verify(_ keys: VSDMKeySet) -> Bool {
            guard let key = keys.key(operatorID: operatorID, version: version) else { return false }
            let expected = Array(HMAC<SHA256>.authenticationCode(for: signed, using: key)).prefix(24)
            // Constant time: every byte is compared whatever the first difference.
            return zip(expected, mac).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0 && mac.count == 24
        }
    }

    public struct V2: Sendable, Hashable {
        public var operatorID: Character
        public var version: Character
        let sealed: [UInt8]

        public struct Content: Sendable, Hashable {
            public var revoked: Bool
            /// The 5 bytes of the hcv, top bit of the first cleared.
            public var hcv: [UInt8]
            public var issuedAt: Int64
            public var kvnr: String
        }

        /// A_27279 steps 4 and 5: the key is known and the content decrypts; `nil` otherwise.
        public func decrypt(_ keys: VSDMKeySet) -> Content? {
            guard let secret = keys.key(operatorID: operatorID, version: version),
                  let box = try? AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: sealed[1..<13]), ciphertext: sealed[13..<31], tag: sealed[31..<47]),
                  let plain = try? AES.GCM.open(box, using: VSDMCheckDigit.v2Key(secret)), plain.count == 18
            else { return nil }
            let bytes = Array(plain)
            var hcv = Array(bytes[0..<5])
            hcv[0] &= 0x7F
            let iat = (Int64(bytes[5]) << 16 | Int64(bytes[6]) << 8 | Int64(bytes[7])) << 3
            return Content(revoked: bytes[0] & 0x80 != 0, hcv: hcv, issuedAt: iat + VSDMCheckDigit.v2Epoch,
                           kvnr: String(decoding: bytes[8..<18], as: UTF8.self))
        }
    }

    /// Reads the PZ text of a PN (row 7 of fd-parity §1.3).
    public static func parse(_ text: String) throws(FormatFailure) -> VSDMCheckDigit {
        guard text.utf8.count == base64Size, let bytes = Data(base64Encoded: text).map(Array.init), bytes.count == size else {
            throw .invalidSize
        }
        if bytes[0] >= UInt8(ascii: "A") && bytes[0] <= UInt8(ascii: "Z") {
            let time = String(decoding: bytes[10..<20], as: UTF8.self)
            return .v1(V1(kvnr: String(decoding: bytes[0..<10], as: UTF8.self),
                          issuedAt: time.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? Int64(time) : nil,
                          operatorID: Character(UnicodeScalar(bytes[21])), version: Character(UnicodeScalar(bytes[22])),
                          signed: Array(bytes[0..<23]), mac: Array(bytes[23..<47])))
        }
        if bytes[0] > 128 {
            let operatorByte = UInt8(ascii: "A") + ((bytes[0] & 0x7F) >> 2)
            guard operatorByte <= UInt8(ascii: "Z") else { throw .invalidFormat }
            return .v2(V2(operatorID: Character(UnicodeScalar(operatorByte)), version: Character(UnicodeScalar(UInt8(ascii: "0") + (bytes[0] & 3))),
                          sealed: bytes))
        }
        throw .invalidFormat
    }

    static func v2Key(_ secret: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: secret, info: v2Info, outputByteCount: 16)
    }

    // MARK: Making check digits (development tooling and tests; what a VSDM service does)

    /// A v1 PZ for `kvnr` at `time` under the key `operatorID`/`version`.
    public static func makeV1(kvnr: String, time: Date, operatorID: Character, version: Character, secret: SymmetricKey) -> String {
        var bytes = Array(kvnr.utf8.prefix(10))
        bytes += Array(String(format: "%010lld", Int64(time.timeIntervalSince1970)).utf8.prefix(10))
        bytes.append(UInt8(ascii: "U"))
        bytes.append(operatorID.asciiValue ?? UInt8(ascii: "A"))
        bytes.append(version.asciiValue ?? UInt8(ascii: "0"))
        bytes += Array(HMAC<SHA256>.authenticationCode(for: bytes, using: secret)).prefix(24)
        return Data(bytes).base64EncodedString()
    }

    /// A v2 PZ; `hcv` is the 5-byte value (``HealthCareValidation/hcv(insuranceStart:street:)``).
    public static func makeV2(kvnr: String, hcv: [UInt8], revoked: Bool, time: Date, operatorID: Character, version: Character,
                              secret: SymmetricKey) -> String? {
        guard hcv.count == 5, let id = operatorID.asciiValue, let number = version.asciiValue else { return nil }
        let iat = max(0, Int64(time.timeIntervalSince1970) - v2Epoch) >> 3
        var plain = hcv
        plain[0] = (plain[0] & 0x7F) | (revoked ? 0x80 : 0)
        plain += [UInt8(truncatingIfNeeded: iat >> 16), UInt8(truncatingIfNeeded: iat >> 8), UInt8(truncatingIfNeeded: iat)]
        plain += Array(kvnr.utf8.prefix(10))
        guard let sealed = try? AES.GCM.seal(plain, using: v2Key(secret)) else { return nil }
        let header = 0x80 | ((id &- UInt8(ascii: "A")) << 2) | ((number &- UInt8(ascii: "0")) & 3)
        let bytes = [header] + Array(sealed.nonce) + Array(sealed.ciphertext) + Array(sealed.tag)
        return Data(bytes).base64EncodedString()
    }
}

/// The hcv (A_27352, A_27346): the first 5 bytes of SHA-256 over the insurance start
/// (`Versicherungsschutz.Beginn`, `yyyyMMdd`) and the trimmed street (`StrassenAdresse.Strasse`),
/// ISO-8859-15, the top bit of the first byte cleared; sent base64url without padding.
public enum HealthCareValidation {
    public static func hcv(insuranceStart: String, street: String) -> [UInt8] {
        let text = insuranceStart + street.trimmingCharacters(in: .whitespacesAndNewlines)
        var digest = Array(SHA256.hash(data: latin9(text)).prefix(5))
        digest[0] &= 0x7F
        return digest
    }

    public static func text(_ hcv: [UInt8]) -> String { Base64Text.url(hcv) }

    /// ISO-8859-15: Latin-1 but for eight positions (€, Š, š, Ž, ž, Œ, œ, Ÿ); anything it cannot
    /// encode becomes `?`.
    static func latin9(_ text: String) -> [UInt8] {
        let replaced: [UInt32: UInt8] = [0x20AC: 0xA4, 0x160: 0xA6, 0x161: 0xA8, 0x17D: 0xB4, 0x17E: 0xB8, 0x152: 0xBC, 0x153: 0xBD, 0x178: 0xBE]
        let taken: Set<UInt32> = [0xA4, 0xA6, 0xA8, 0xB4, 0xB8, 0xBC, 0xBD, 0xBE]
        return text.unicodeScalars.map { scalar in
            if let byte = replaced[scalar.value] { return byte }
            return scalar.value < 0x100 && !taken.contains(scalar.value) ? UInt8(scalar.value) : UInt8(ascii: "?")
        }
    }
}
