/// The body of `POST /VAU/{user-pseudonym}` (fd-messaging-transport §4.3; IBM
/// `OuterTeeRequest::disassemble`): `0x01 ‖ X(32) ‖ Y(32) ‖ IV(12) ‖ ciphertext ‖ tag(16)`.
public struct VAURequestBody: Sendable {
    /// Version, the two coordinates, IV and tag: the shortest body (an empty `p`).
    public static let minimumLength = 1 + 32 + 32 + 12 + 16

    /// The client's ephemeral public key as the SEC1 uncompressed point `04 ‖ X ‖ Y`.
    public let ephemeralPoint: [UInt8]
    /// `IV ‖ ciphertext ‖ tag`, swift-crypto's combined form.
    public let sealed: ArraySlice<UInt8>

    /// Splits a body; the length is checked before the version, as the production service does.
    public init(_ body: [UInt8]) throws(VAUError) {
        guard body.count >= Self.minimumLength else { throw .bodyTooShort }
        guard body[0] == 0x01 else { throw .invalidVersion }
        ephemeralPoint = [0x04] + body[1..<65]
        sealed = body[65...]
    }

    /// Decrypts `p` with the VAU's key (A_20163 step 2).
    public func open(with key: some VAUServerKeyAgreement) throws(VAUError) -> [UInt8] {
        let secret: [UInt8]
        do {
            secret = try key.sharedSecret(withUncompressedPoint: ephemeralPoint)
        } catch {
            throw .invalidPublicKey("the point is not on brainpoolP256r1")
        }
        return try VAUCipher.open(sealed, key: VAUCipher.contentKey(sharedSecret: secret))
    }

    /// The client's side (A_20161-01 steps 4–5): seals `p` for the VAU whose public key is
    /// `serverPoint`, with a fresh ephemeral key (and, for known-answer tests, a given IV).
    public static func seal(_ plaintext: [UInt8], serverPoint: [UInt8], ephemeral: some VAUEphemeralKeyAgreement,
                            iv: [UInt8]? = nil) throws -> [UInt8] {
        let secret = try ephemeral.sharedSecret(withUncompressedPoint: serverPoint)
        let point = ephemeral.uncompressedPublicPoint
        guard point.count == 65, point[0] == 0x04 else { throw VAUError.invalidPublicKey("not an uncompressed point") }
        return [0x01] + point[1...] + (try VAUCipher.seal(plaintext, key: VAUCipher.contentKey(sharedSecret: secret), iv: iv))
    }
}
