import COpenSSL
public import Foundation

extension BrainpoolP256r1 {
    /// What the server needs of an X.509 certificate with a brainpoolP256r1 key (the IDP's signer
    /// certificate, the VAU's encryption certificate): its key, validity, subject and SKI. It does
    /// not verify the certificate's chain: TI certificates chain to the TSL, which is not here.
    /// swift-certificates cannot read these certificates at all (it throws for the curve).
    public struct Certificate: Sendable, Hashable {
        public let derRepresentation: Data
        public let publicKey: PublicKey
        public let notBefore: Date
        public let notAfter: Date
        /// The subject as RFC 2253 text (`CN=…,O=…,C=DE`).
        public let subject: String
        /// The subjectKeyIdentifier extension's value, if present.
        public let subjectKeyIdentifier: Data?

        /// A DER certificate whose key is brainpoolP256r1 (else ``BrainpoolError/wrongCurve``).
        public init(derRepresentation der: some DataProtocol) throws(BrainpoolError) {
            let der = Data(der)
            guard let certificate = OpenSSL.decode(der, { d2i_X509(nil, $0, $1) }, free: { X509_free($0) }) else {
                throw OpenSSL.fail(.malformedCertificate)
            }
            defer { X509_free(certificate) }
            guard let key = X509_get0_pubkey(certificate) else { throw OpenSSL.fail(.malformedCertificate) }
            guard let keyDER = OpenSSL.encode({ i2d_PUBKEY(key, $0) }) else { throw OpenSSL.fail(.malformedCertificate) }
            let publicKey = try PublicKey(derRepresentation: keyDER)
            guard let notBefore = Self.date(X509_get0_notBefore(certificate)), let notAfter = Self.date(X509_get0_notAfter(certificate)),
                  let subject = Self.text(of: X509_get_subject_name(certificate))
            else { throw OpenSSL.fail(.malformedCertificate) }
            self.derRepresentation = der
            self.publicKey = publicKey
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.subject = subject
            self.subjectKeyIdentifier = Self.bytes(X509_get0_subject_key_id(certificate))
            ERR_clear_error()
        }

        /// The first `CERTIFICATE` block of a PEM text.
        public init(pemRepresentation pem: String) throws(BrainpoolError) {
            guard let block = PEM.decode(pem, labels: ["CERTIFICATE"]) else { throw OpenSSL.fail(.malformedCertificate) }
            try self.init(derRepresentation: block.der)
        }

        public var pemRepresentation: String {
            PEM.encode(derRepresentation, label: "CERTIFICATE")
        }

        /// Whether `date` lies within `notBefore…notAfter`.
        public func isValid(at date: Date) -> Bool {
            notBefore <= date && date <= notAfter
        }

        /// A self-signed development certificate of `key` (`CN=commonName`, a random serial, SKI,
        /// not a CA, for signatures and key agreement), signed ECDSA-SHA256. Never for production:
        /// real TI certificates come from the TI's CAs.
        public static func selfSigned(
            key: PrivateKey, commonName: String, validFrom: Date = Date(), validity: TimeInterval = 3 * 365 * 24 * 3600
        ) throws(BrainpoolError) -> Certificate {
            guard let certificate = X509_new() else { throw OpenSSL.fail(.operationFailed) }
            defer { X509_free(certificate) }
            var serial = [UInt8](repeating: 0, count: 16)
            for index in serial.indices { serial[index] = UInt8.random(in: 0...255) }
            serial[0] &= 0x7F  // positive
            serial[0] |= 0x40  // and of full length
            guard X509_set_version(certificate, 2) == 1,  // v3
                  let number = BN_bin2bn(serial, Int32(serial.count), nil)
            else { throw OpenSSL.fail(.operationFailed) }
            defer { BN_free(number) }
            let name = X509_NAME_new()
            defer { X509_NAME_free(name) }
            let cn = Array(commonName.utf8)
            guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil,
                  ASN1_TIME_set(X509_getm_notBefore(certificate), time_t(validFrom.timeIntervalSince1970)) != nil,
                  ASN1_TIME_set(X509_getm_notAfter(certificate), time_t(validFrom.addingTimeInterval(validity).timeIntervalSince1970)) != nil,
                  let name, !cn.isEmpty, erx_x509_name_add_utf8(name, "CN", cn, Int32(cn.count)) == 1,
                  X509_set_subject_name(certificate, name) == 1, X509_set_issuer_name(certificate, name) == 1,
                  X509_set_pubkey(certificate, key.box.pkey) == 1
            else { throw OpenSSL.fail(.operationFailed) }
            var context = X509V3_CTX()
            X509V3_set_ctx(&context, certificate, certificate, nil, nil, 0)
            for (nid, value) in [(NID_subject_key_identifier, "hash"), (NID_basic_constraints, "critical,CA:FALSE"),
                                 (NID_key_usage, "critical,digitalSignature,keyAgreement")] {
                guard let extensionValue = X509V3_EXT_nconf_nid(nil, &context, nid, value) else { throw OpenSSL.fail(.operationFailed) }
                defer { X509_EXTENSION_free(extensionValue) }
                guard X509_add_ext(certificate, extensionValue, -1) == 1 else { throw OpenSSL.fail(.operationFailed) }
            }
            guard X509_sign(certificate, key.box.pkey, EVP_sha256()) > 0,
                  let der = OpenSSL.encode({ i2d_X509(certificate, $0) })
            else { throw OpenSSL.fail(.operationFailed) }
            return try Certificate(derRepresentation: der)
        }

        private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
            guard let time else { return nil }
            var fields = tm()
            guard ASN1_TIME_to_tm(time, &fields) == 1 else { return nil }
            return Date(timeIntervalSince1970: TimeInterval(timegm(&fields)))
        }

        private static func text(of name: OpaquePointer?) -> String? {
            guard let name, let bio = BIO_new(BIO_s_mem()) else { return nil }
            defer { BIO_free(bio) }
            guard erx_x509_name_print_rfc2253(bio, name) >= 0 else { return nil }
            var data: UnsafeMutablePointer<CChar>?
            let length = erx_bio_mem_data(bio, &data)
            guard length >= 0 else { return nil }
            guard let data, length > 0 else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        }

        private static func bytes(_ string: UnsafePointer<ASN1_OCTET_STRING>?) -> Data? {
            guard let string, let bytes = ASN1_STRING_get0_data(string) else { return nil }
            return Data(bytes: bytes, count: Int(ASN1_STRING_length(string)))
        }
    }
}
