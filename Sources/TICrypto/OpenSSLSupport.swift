import COpenSSL
import Foundation

/// One `EVP_PKEY`, freed with the box. Never changed after it is made, which is what makes sharing
/// it between threads safe (each operation takes its own `EVP_PKEY_CTX`/`EVP_MD_CTX`).
final class PKeyBox: @unchecked Sendable {
    let pkey: OpaquePointer

    init(_ pkey: OpaquePointer) {
        self.pkey = pkey
    }

    deinit {
        EVP_PKEY_free(pkey)
    }
}

enum OpenSSL {
    /// Throws `error` after clearing this thread's OpenSSL error queue, so a failure here is not
    /// reported again by an unrelated later call on the same thread.
    static func fail(_ error: BrainpoolError) -> BrainpoolError {
        ERR_clear_error()
        return error
    }

    /// Parses DER with a `d2i_…` function; `nil` unless every byte was used.
    static func decode(
        _ der: some DataProtocol, _ parse: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> OpaquePointer?, free: (OpaquePointer) -> Void
    ) -> OpaquePointer? {
        let bytes = [UInt8](der)
        guard !bytes.isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let object = parse(&cursor, buffer.count) else { return nil }
            guard let start = buffer.baseAddress, cursor == start + buffer.count else {
                free(object)
                return nil
            }
            return object
        }
    }

    /// The DER an `i2d_…` function writes, or `nil`.
    static func encode(_ write: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> Data? {
        let length = write(nil)
        guard length > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return write(&cursor)
        }
        return written == length ? Data(bytes) : nil
    }

    /// The curve name of an EC key, or `nil` for other keys and for EC keys with explicit
    /// parameters: OpenSSL names a curve it recognises in them, but RFC 5480 §2.1.1 admits only the
    /// named form, and explicit parameters are how forged curves get in (CVE-2020-0601).
    static func groupName(_ pkey: OpaquePointer) -> String? {
        guard EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC, stringParameter(pkey, "encoding") == "named_curve" else { return nil }
        return stringParameter(pkey, "group")
    }

    private static func stringParameter(_ pkey: OpaquePointer, _ name: String) -> String? {
        var value = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pkey, name, &value, value.count, &length) == 1 else { return nil }
        return String(decoding: value.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the 32-byte big-endian `scalar` lies in 1…n−1 (OpenSSL 3.0's key check lets n and
    /// above through).
    static func isInRange(_ scalar: [UInt8]) -> Bool {
        guard scalar.count == BrainpoolP256r1.coordinateByteCount, scalar.contains(where: { $0 != 0 }) else { return false }
        for (digit, bound) in zip(scalar, BrainpoolP256r1.order) where digit != bound { return digit < bound }
        return false
    }

    /// A big number parameter of a key (`priv`, `qx`, `qy`) as 32 big-endian bytes.
    static func coordinate(_ pkey: OpaquePointer, _ name: String) -> [UInt8]? {
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &number) == 1, let number else { return nil }
        defer { BN_clear_free(number) }
        var bytes = [UInt8](repeating: 0, count: BrainpoolP256r1.coordinateByteCount)
        guard BN_bn2binpad(number, &bytes, Int32(bytes.count)) == Int32(bytes.count) else { return nil }
        return bytes
    }

    /// Runs `check` (e.g. `EVP_PKEY_public_check`) on a fresh context of `pkey`.
    static func check(_ pkey: OpaquePointer, _ check: (OpaquePointer) -> Int32) -> Bool {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { return false }
        defer { EVP_PKEY_CTX_free(context) }
        return check(context) == 1
    }
}

/// PEM armour (RFC 7468) read and written here, so no `BIO` is needed for keys.
enum PEM {
    static func encode(_ der: Data, label: String) -> String {
        let base64 = der.base64EncodedString()
        var lines = ["-----BEGIN \(label)-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The DER of the first block whose label is one of `labels`, with the label found.
    static func decode(_ text: String, labels: [String]) -> (label: String, der: Data)? {
        for label in labels {
            guard let begin = text.range(of: "-----BEGIN \(label)-----"),
                  let end = text.range(of: "-----END \(label)-----", range: begin.upperBound..<text.endIndex)
            else { continue }
            let body = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)), !der.isEmpty else { return nil }
            return (label, der)
        }
        return nil
    }
}
