import Dispensing

/// The content of a CMS SignedData (RFC 5652) that envelops a prescription bundle.
enum SignedPrescription {
    static func content(of cms: [UInt8], expression: String) throws -> [UInt8] {
        throw DispensingError.invalidPrescription(reason: "CMS-signed prescriptions are not supported yet.", expression: expression)
    }
}
