/// The elliptic-curve half of the VAU's ECIES (gemSpec_Krypt A_20161-01 step 4, A_20163 step 2):
/// brainpoolP256r1 Diffie-Hellman. The protocol layer needs nothing else of the curve, so it asks
/// for exactly that and stays free of any one crypto library; the server's and the client's
/// brainpool keys (`TICrypto`) conform to these.

/// The VAU's long-lived private key (its encryption certificate's key), on the server side.
public protocol VAUServerKeyAgreement: Sendable {
    /// ECDH with the client's ephemeral public key, given as the SEC1 uncompressed point
    /// `04 ‖ X ‖ Y` (65 bytes): the shared point's x-coordinate, left-padded to 32 bytes.
    /// Throws when the point is not on the curve.
    func sharedSecret(withUncompressedPoint point: [UInt8]) throws -> [UInt8]
}

/// A fresh ephemeral key of the client, one per request (A_20161-01 step 4).
public protocol VAUEphemeralKeyAgreement: Sendable {
    /// The public key as the SEC1 uncompressed point `04 ‖ X ‖ Y` (65 bytes).
    var uncompressedPublicPoint: [UInt8] { get }
    /// ECDH with the VAU certificate's public key (`04 ‖ X ‖ Y`): the x-coordinate, 32 bytes.
    func sharedSecret(withUncompressedPoint point: [UInt8]) throws -> [UInt8]
}
