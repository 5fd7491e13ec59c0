public import TICrypto

/// The VAU's curve: brainpoolP256r1 keys (`TICrypto`, over the system's OpenSSL) behind the
/// protocol's key-agreement seam. The server's certificate key and each client's ephemeral key.
extension BrainpoolP256r1.PrivateKey: VAUServerKeyAgreement, VAUEphemeralKeyAgreement {
    public var uncompressedPublicPoint: [UInt8] { Array(publicKey.x963Representation) }

    public func sharedSecret(withUncompressedPoint point: [UInt8]) throws -> [UInt8] {
        // The point is checked to be on the curve (and not the point at infinity) by the import.
        Array(try sharedSecret(with: BrainpoolP256r1.PublicKey(x963Representation: point)))
    }
}
