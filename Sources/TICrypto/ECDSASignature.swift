import COpenSSL
public import Foundation

extension BrainpoolP256r1 {
    /// An ECDSA signature `(r, s)`: as JWS carries it (`r ‖ s`, 32 bytes each, RFC 7518 §3.4) or as
    /// X.509/CMS carry it (DER `ECDSA-Sig-Value`). Both forms hold the same two numbers.
    public struct ECDSASignature: Sendable, Hashable {
        /// `r ‖ s`, 64 bytes.
        public let rawRepresentation: Data

        /// Exactly 64 bytes `r ‖ s` (the IDP's `BP256R1` JWS signatures; IBM `Jwt.cxx` refuses
        /// other lengths).
        public init(rawRepresentation raw: some DataProtocol) throws(BrainpoolError) {
            let raw = Data(raw)
            guard raw.count == 2 * coordinateByteCount else { throw OpenSSL.fail(.malformedSignature) }
            self.rawRepresentation = raw
        }

        /// A DER `ECDSA-Sig-Value`; strict DER only (OpenSSL's encoding of it must give the same
        /// bytes), and both numbers must fit 32 bytes.
        public init(derRepresentation der: some DataProtocol) throws(BrainpoolError) {
            let der = [UInt8](der)
            guard let signature = OpenSSL.decode(der, { d2i_ECDSA_SIG(nil, $0, $1) }, free: { ECDSA_SIG_free($0) }) else {
                throw OpenSSL.fail(.malformedSignature)
            }
            defer { ECDSA_SIG_free(signature) }
            guard OpenSSL.encode({ i2d_ECDSA_SIG(signature, $0) }).map({ [UInt8]($0) }) == der,
                  let r = ECDSA_SIG_get0_r(signature), let s = ECDSA_SIG_get0_s(signature)
            else { throw OpenSSL.fail(.malformedSignature) }
            var raw = [UInt8](repeating: 0, count: 2 * coordinateByteCount)
            let size = Int32(coordinateByteCount)
            let written = raw.withUnsafeMutableBufferPointer { buffer in
                (BN_bn2binpad(r, buffer.baseAddress, size), BN_bn2binpad(s, buffer.baseAddress! + Int(size), size))
            }
            guard written == (size, size) else { throw OpenSSL.fail(.malformedSignature) }
            self.rawRepresentation = Data(raw)
        }

        /// The DER `ECDSA-Sig-Value` of `(r, s)`.
        public var derRepresentation: Data {
            let raw = [UInt8](rawRepresentation)
            guard let signature = ECDSA_SIG_new() else { return Data() }
            defer { ECDSA_SIG_free(signature) }
            let size = Int32(BrainpoolP256r1.coordinateByteCount)
            guard let r = BN_bin2bn(raw, size, nil) else { return Data() }
            guard let s = raw.withUnsafeBufferPointer({ BN_bin2bn($0.baseAddress! + Int(size), size, nil) }) else {
                BN_free(r)
                return Data()
            }
            // `set0` takes both numbers; freed with the signature.
            guard ECDSA_SIG_set0(signature, r, s) == 1 else {
                BN_free(r)
                BN_free(s)
                return Data()
            }
            return OpenSSL.encode { i2d_ECDSA_SIG(signature, $0) } ?? Data()
        }
    }
}
