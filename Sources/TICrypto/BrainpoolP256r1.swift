import Foundation

/// brainpoolP256r1 (RFC 5639), the curve of the Telematikinfrastruktur: the IDP signs access tokens
/// with it (JWS `alg: BP256R1`), and the VAU of the E-Rezept encrypts requests to it (ECIES).
/// Neither swift-crypto nor swift-certificates know the curve, so this target wraps the system's
/// OpenSSL 3 (`COpenSSL`) and lets nothing of it show above: every type here is a Sendable value,
/// every OpenSSL object is freed where it was made, and a failure is a ``BrainpoolError``.
///
/// What the VAU (fd-messaging-transport §4) builds on this, with swift-crypto for the rest:
/// 1. the server's ``PrivateKey`` (from PEM) and its ``Certificate`` (served at `/VAUCertificate`);
/// 2. per request, the client's ephemeral point `0x04 ‖ X ‖ Y` from the body →
///    ``PublicKey/init(x963Representation:)`` (validated on the curve) →
///    ``PrivateKey/sharedSecret(with:)`` (the 32-byte x-coordinate) →
///    `HKDF<SHA256>` (no salt, info `ecies-vau-transport`, 16 bytes) → `AES.GCM` (swift-crypto).
///    A test client does the same with ``PrivateKey/init()`` as its ephemeral key.
///
/// Keys hold their `EVP_PKEY` in an immutable box: OpenSSL 3 keys may be shared between threads
/// as long as nobody changes them, and every operation here makes its own context.
public enum BrainpoolP256r1 {
    /// The OpenSSL (and RFC 5639) name of the curve.
    static let curveName = "brainpoolP256r1"
    /// Bytes of a field element or scalar.
    public static let coordinateByteCount = 32
    /// The group order n (RFC 5639 §3.4), big-endian.
    static let order: [UInt8] = [
        0xA9, 0xFB, 0x57, 0xDB, 0xA1, 0xEE, 0xA9, 0xBC, 0x3E, 0x66, 0x0A, 0x90, 0x9D, 0x83, 0x8D, 0x71,
        0x8C, 0x39, 0x7A, 0xA3, 0xB5, 0x61, 0xA6, 0xF7, 0x90, 0x1E, 0x0E, 0x82, 0x97, 0x48, 0x56, 0xA7,
    ]
    /// The DER `SubjectPublicKeyInfo` up to the point: `id-ecPublicKey`, the named curve
    /// brainpoolP256r1 (1.3.36.3.3.2.8.1.1.7), and a BIT STRING of 66 bytes (no unused bits).
    static let publicKeyInfoPrefix: [UInt8] = [
        0x30, 0x5A, 0x30, 0x14, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
        0x06, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]
}

/// Why a key, point, signature or certificate was refused. Carries no key material.
public enum BrainpoolError: Error, Sendable, Hashable {
    /// Not DER/PEM of the expected structure (or an encrypted private key).
    case malformedKey
    /// A well-formed key of another curve or algorithm.
    case wrongCurve
    /// A point that is not `0x04 ‖ X ‖ Y` of 65 bytes, or not on brainpoolP256r1.
    case invalidPoint
    /// A private scalar outside 1…n−1, or not 32 bytes.
    case invalidScalar
    /// A signature that is neither 64 bytes `r ‖ s` nor a DER `ECDSA-Sig-Value`.
    case malformedSignature
    /// Not an X.509 certificate in DER or PEM.
    case malformedCertificate
    /// OpenSSL failed where it should not (out of memory, a missing provider).
    case operationFailed
}
