/// The prescription as a pharmacy receives it in `$accept` and the `?ac=` re-fetch: a
/// `GEM_ERP_PR_Binary`, whose `contentType` is fixed to `application/pkcs7-mime` (A_19169-01,
/// fd-parity.md §2.2–§2.3).
///
/// A prescription activated with `--accept-unsigned` came without a CMS. Rather than a Binary of
/// another content type (which the profile forbids) or one without a profile (which the Task's
/// `input` reference, typed `GEM_ERP_PR_Binary`, would then name wrongly), erx envelops the bundle
/// in a CMS SignedData of its own that has **no signer**: the pharmacy unpacks it as it unpacks a
/// signed one, and its signature check reports, truthfully, that nobody signed it.
enum PrescriptionEnvelope {
    /// `ContentInfo { id-signedData, [0] SignedData { version 1, digestAlgorithms {}, encapContentInfo
    /// { id-data, [0] OCTET STRING content }, signerInfos {} } }` in DER (RFC 5652 §5.1: the sets may
    /// be empty, as in a degenerate SignedData).
    static func unsigned(_ content: [UInt8]) -> [UInt8] {
        let encapsulated = tlv(0x30, objectIdentifier(idData) + tlv(0xA0, tlv(0x04, content)))
        let signedData = tlv(0x30, tlv(0x02, [1]) + tlv(0x31, []) + encapsulated + tlv(0x31, []))
        return tlv(0x30, objectIdentifier(idSignedData) + tlv(0xA0, signedData))
    }

    /// 1.2.840.113549.1.7.1 and 1.2.840.113549.1.7.2, encoded.
    static let idData: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]
    static let idSignedData: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]

    static func objectIdentifier(_ encoded: [UInt8]) -> [UInt8] { tlv(0x06, encoded) }

    /// A DER tag-length-value with a definite length (short form below 128 bytes, else long form).
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        if content.count < 0x80 {
            length = [UInt8(content.count)]
        } else {
            var count = content.count
            while count > 0 {
                length.insert(UInt8(count & 0xFF), at: 0)
                count >>= 8
            }
            length.insert(0x80 | UInt8(length.count), at: 0)
        }
        return [tag] + length + content
    }
}
