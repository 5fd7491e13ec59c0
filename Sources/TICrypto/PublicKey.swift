import COpenSSL
public import Foundation

extension BrainpoolP256r1 {
    /// A brainpoolP256r1 public key, always a point checked to lie on the curve.
    public struct PublicKey: Sendable {
        let box: PKeyBox

        init(box: PKeyBox) {
            self.box = box
        }

        /// The uncompressed X9.62/SEC1 point `0x04 ‖ X ‖ Y` (65 bytes), as the VAU request carries
        /// it and the IDP's JWK `x`/`y` give it. Compressed points are refused.
        public init(x963Representation point: some DataProtocol) throws(BrainpoolError) {
            let point = [UInt8](point)
            guard point.count == 1 + 2 * coordinateByteCount, point[0] == 0x04 else { throw OpenSSL.fail(.invalidPoint) }
            // Read as the SubjectPublicKeyInfo it is the tail of: one path for every import.
            do {
                try self.init(derRepresentation: publicKeyInfoPrefix + point)
            } catch {
                throw OpenSSL.fail(.invalidPoint)
            }
        }

        /// A DER `SubjectPublicKeyInfo` of a brainpoolP256r1 key (named curve).
        public init(derRepresentation der: some DataProtocol) throws(BrainpoolError) {
            guard let pkey = OpenSSL.decode(der, { d2i_PUBKEY(nil, $0, $1) }, free: { EVP_PKEY_free($0) }) else {
                throw OpenSSL.fail(.malformedKey)
            }
            let box = PKeyBox(pkey)
            guard OpenSSL.groupName(pkey) == curveName else { throw OpenSSL.fail(.wrongCurve) }
            // d2i already refuses points off the curve; the check also refuses the point at
            // infinity and points outside the group (brainpool's cofactor is 1).
            guard OpenSSL.check(pkey, EVP_PKEY_public_check) else { throw OpenSSL.fail(.invalidPoint) }
            self.box = box
        }

        /// A PEM `PUBLIC KEY` block.
        public init(pemRepresentation pem: String) throws(BrainpoolError) {
            guard let block = PEM.decode(pem, labels: ["PUBLIC KEY"]) else { throw OpenSSL.fail(.malformedKey) }
            try self.init(derRepresentation: block.der)
        }

        /// `0x04 ‖ X ‖ Y`, 65 bytes, coordinates left-padded to 32 bytes.
        public var x963Representation: Data {
            // Both coordinates exist for every key made here; a failure would be OpenSSL's, and an
            // empty answer fails every comparison rather than trapping.
            guard let x = OpenSSL.coordinate(box.pkey, "qx"), let y = OpenSSL.coordinate(box.pkey, "qy") else { return Data() }
            return Data([0x04] + x + y)
        }

        /// The DER `SubjectPublicKeyInfo` (named curve).
        public var derRepresentation: Data {
            OpenSSL.encode { i2d_PUBKEY(box.pkey, $0) } ?? Data()
        }

        public var pemRepresentation: String {
            PEM.encode(derRepresentation, label: "PUBLIC KEY")
        }

        /// Whether `signature` is an ECDSA signature over SHA-256 of `message` by this key.
        public func isValidSignature(_ signature: ECDSASignature, for message: some DataProtocol) -> Bool {
            let message = [UInt8](message)
            let der = [UInt8](signature.derRepresentation)
            guard let context = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(context) }
            guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, box.pkey) == 1 else {
                ERR_clear_error()
                return false
            }
            let result = EVP_DigestVerify(context, der, der.count, message, message.count)
            if result != 1 { ERR_clear_error() }
            return result == 1
        }
    }
}

extension BrainpoolP256r1.PublicKey: Hashable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.x963Representation == rhs.x963Representation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(x963Representation)
    }
}
