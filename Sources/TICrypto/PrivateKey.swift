import COpenSSL
public import Foundation

extension BrainpoolP256r1 {
    /// A brainpoolP256r1 private key. Its material leaves only through the explicit
    /// representations below; `description` and errors never show it.
    public struct PrivateKey: Sendable, CustomStringConvertible {
        let box: PKeyBox
        public let publicKey: PublicKey

        private init(box: PKeyBox) throws(BrainpoolError) {
            guard OpenSSL.groupName(box.pkey) == curveName else { throw OpenSSL.fail(.wrongCurve) }
            // The scalar in 1…n−1, then OpenSSL's check: the point on the curve and the scalar's.
            guard let scalar = OpenSSL.coordinate(box.pkey, "priv"), OpenSSL.isInRange(scalar),
                  OpenSSL.check(box.pkey, EVP_PKEY_check)
            else { throw OpenSSL.fail(.invalidScalar) }
            guard let der = OpenSSL.encode({ i2d_PUBKEY(box.pkey, $0) }) else { throw OpenSSL.fail(.operationFailed) }
            self.box = box
            self.publicKey = try PublicKey(derRepresentation: der)
        }

        /// A fresh random key (OpenSSL's DRBG).
        public init() throws(BrainpoolError) {
            guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw OpenSSL.fail(.operationFailed) }
            defer { EVP_PKEY_CTX_free(context) }
            var pkey: OpaquePointer?
            guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_CTX_set_group_name(context, curveName) == 1,
                  EVP_PKEY_generate(context, &pkey) == 1, let pkey
            else { throw OpenSSL.fail(.operationFailed) }
            try self.init(box: PKeyBox(pkey))
        }

        /// The 32-byte big-endian scalar (as RFC 7027's test vectors and the VAU test vectors give it).
        public init(rawRepresentation scalar: some DataProtocol) throws(BrainpoolError) {
            let scalar = [UInt8](scalar)
            guard scalar.count == coordinateByteCount else { throw OpenSSL.fail(.invalidScalar) }
            // SEC1 ECPrivateKey { version 1, privateKey, [0] brainpoolP256r1 } without the public
            // key, which OpenSSL then computes from the scalar.
            let oid: [UInt8] = [0x06, 0x09, 0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07]
            let der: [UInt8] = [0x30, 0x32, 0x02, 0x01, 0x01, 0x04, 0x20] + scalar + [0xA0, UInt8(oid.count)] + oid
            try self.init(derRepresentation: der)
        }

        /// DER PKCS#8 `PrivateKeyInfo` (unencrypted) or SEC1 `ECPrivateKey` with a named curve.
        public init(derRepresentation der: some DataProtocol) throws(BrainpoolError) {
            guard let pkey = OpenSSL.decode(der, { d2i_AutoPrivateKey(nil, $0, $1) }, free: { EVP_PKEY_free($0) }) else {
                throw OpenSSL.fail(.malformedKey)
            }
            try self.init(box: PKeyBox(pkey))
        }

        /// PEM `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1, as `openssl ecparam -genkey` writes
        /// it). Encrypted keys are refused.
        public init(pemRepresentation pem: String) throws(BrainpoolError) {
            guard let block = PEM.decode(pem, labels: ["PRIVATE KEY", "EC PRIVATE KEY"]) else { throw OpenSSL.fail(.malformedKey) }
            try self.init(derRepresentation: block.der)
        }

        /// The 32-byte big-endian scalar.
        public var rawRepresentation: Data {
            OpenSSL.coordinate(box.pkey, "priv").map { Data($0) } ?? Data()
        }

        /// DER PKCS#8 `PrivateKeyInfo`.
        public var derRepresentation: Data {
            guard let info = EVP_PKEY2PKCS8(box.pkey) else {
                ERR_clear_error()
                return Data()
            }
            defer { PKCS8_PRIV_KEY_INFO_free(info) }
            return OpenSSL.encode { i2d_PKCS8_PRIV_KEY_INFO(info, $0) } ?? Data()
        }

        /// PEM `PRIVATE KEY` (PKCS#8).
        public var pemRepresentation: String {
            PEM.encode(derRepresentation, label: "PRIVATE KEY")
        }

        public var description: String { "BrainpoolP256r1.PrivateKey(<redacted>)" }

        /// ECDH: the x-coordinate of `self · peer`, 32 bytes left-padded (fd-messaging-transport
        /// §4.2 step 4: a 31-byte secret would break the VAU's tag). Fails only for a peer that
        /// OpenSSL refuses, which ``PublicKey`` already validated.
        public func sharedSecret(with peer: PublicKey) throws(BrainpoolError) -> Data {
            guard let context = EVP_PKEY_CTX_new_from_pkey(nil, box.pkey, nil) else { throw OpenSSL.fail(.operationFailed) }
            defer { EVP_PKEY_CTX_free(context) }
            guard EVP_PKEY_derive_init(context) == 1, EVP_PKEY_derive_set_peer_ex(context, peer.box.pkey, 1) == 1 else {
                throw OpenSSL.fail(.invalidPoint)
            }
            var length = 0
            guard EVP_PKEY_derive(context, nil, &length) == 1, length == coordinateByteCount else { throw OpenSSL.fail(.operationFailed) }
            var secret = [UInt8](repeating: 0, count: length)
            guard EVP_PKEY_derive(context, &secret, &length) == 1, length == coordinateByteCount else { throw OpenSSL.fail(.operationFailed) }
            return Data(secret)
        }

        /// ECDSA over SHA-256 of `message` (randomised `k`, as OpenSSL does).
        public func signature(for message: some DataProtocol) throws(BrainpoolError) -> ECDSASignature {
            let message = [UInt8](message)
            guard let context = EVP_MD_CTX_new() else { throw OpenSSL.fail(.operationFailed) }
            defer { EVP_MD_CTX_free(context) }
            var length = 0
            guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, box.pkey) == 1,
                  EVP_DigestSign(context, nil, &length, message, message.count) == 1
            else { throw OpenSSL.fail(.operationFailed) }
            var der = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(context, &der, &length, message, message.count) == 1 else { throw OpenSSL.fail(.operationFailed) }
            return try ECDSASignature(derRepresentation: der.prefix(length))
        }
    }
}
