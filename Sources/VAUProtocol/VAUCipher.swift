public import Crypto
public import Foundation

/// The symmetric half of the VAU's ECIES (fd-messaging-transport §4.2–§4.6): the content key from
/// the ECDH secret, and AES-128-GCM with a 12-byte IV, no AAD and a 16-byte tag in both directions.
/// Every implementation of the protocol (IBM, the Rust reference, gematik's Java clients) uses
/// 16-byte keys, although one API page says AES-256; the code is followed.
public enum VAUCipher {
    /// `HKDF-SHA256(secret, salt: none, info: "ecies-vau-transport", 16 bytes)` (A_20161-01 step 4).
    public static func contentKey(sharedSecret: [UInt8]) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: sharedSecret), info: Array("ecies-vau-transport".utf8),
                               outputByteCount: 16)
    }

    /// `IV ‖ ciphertext ‖ tag` of `plaintext` under `key`; a random IV unless one is given (tests).
    public static func seal(_ plaintext: some DataProtocol, key: SymmetricKey, iv: [UInt8]? = nil) throws -> [UInt8] {
        let nonce = try iv.map { try AES.GCM.Nonce(data: $0) } ?? AES.GCM.Nonce()
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce)
        return Array(nonce) + Array(box.ciphertext) + Array(box.tag)
    }

    /// Opens `IV ‖ ciphertext ‖ tag`; any failure is the one AES-GCM error the client may learn.
    public static func open(_ sealed: some DataProtocol, key: SymmetricKey) throws(VAUError) -> [UInt8] {
        guard sealed.count >= 28 else { throw .decryptionFailed }
        do {
            return Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key))
        } catch {
            throw .decryptionFailed
        }
    }
}
