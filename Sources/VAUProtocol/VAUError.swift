/// Why a VAU request could not be opened. Each case carries the production service's class and
/// text (IBM `VauRequestHandler::handleRequest`, `OuterTeeRequest`, `InnerTeeRequest`,
/// `ErpTeeProtocol`), because the answer to these is the one *outside* the tunnel: the client has
/// no usable response key, so it gets plain JSON (fd-messaging-transport §4.5).
public enum VAUError: Error, Sendable, Hashable {
    /// Shorter than version, point, IV and tag (93 bytes).
    case bodyTooShort
    /// The first byte is not `0x01`.
    case invalidVersion
    /// The ephemeral key is not a point of brainpoolP256r1.
    case invalidPublicKey(String)
    /// AES-GCM refused the ciphertext (wrong key, tag or data).
    case decryptionFailed
    /// `p` does not split into its five items (the text says how).
    case malformedPlaintext(String)
    /// `p`'s version item is not `1`.
    case wrongPlaintextVersion
    /// The request id or the response key is not hex.
    case invalidHex(element: String)
    /// The response key is not 16 bytes.
    case wrongKeySize
    /// The access token in `p` is not even a three-part compact JWS.
    case unparsableToken

    /// The outer status: 400 for everything about the message, 401 for the token in `p`.
    public var status: Int {
        switch self {
        case .unparsableToken: 401
        default: 400
        }
    }

    /// The outer JSON's `error` text, in IBM's words: `vau decryption failed: <class> <what>`.
    public var text: String {
        switch self {
        case .bodyTooShort: "vau decryption failed: ErpException body is too short to be a outer request body"
        case .invalidVersion: "vau decryption failed: AesGcmException invalid TEE version"
        case .invalidPublicKey: "vau decryption failed: ErpException Unable to create public key from message data"
        // The API's example answer (`authentisieren.adoc`) ends with the semicolon.
        case .decryptionFailed: "vau decryption failed: AesGcmException can't finalize AES-GCM decryption;"
        case .malformedPlaintext(let what): "vau decryption failed: ErpException \(what)"
        case .wrongPlaintextVersion: "vau decryption failed: AesGcmException wrong version"
        case .invalidHex(let element): "vau decryption failed: ErpException Invalid encoded hex value for element \(element)"
        case .wrongKeySize: "vau decryption failed: AesGcmException AES key has wrong size"
        case .unparsableToken: "vau decryption failed: JwtException JWT has invalid format"
        }
    }

    /// The outer JSON's optional `message` (IBM's diagnostics); never personal data.
    public var message: String? {
        if case .invalidPublicKey(let reason) = self { return reason }
        return nil
    }
}
