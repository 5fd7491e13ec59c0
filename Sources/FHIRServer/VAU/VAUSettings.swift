public import Crypto
public import VAUProtocol

/// How the FD routes are reached (issue 25, `--transport`).
public enum Transport: String, Sendable, CaseIterable {
    /// Plain HTTP only, no tunnel (tests, local tools).
    case plain
    /// Only through the VAU, as the production service: a plain request to an FD route gets the
    /// outer server's 404; `/health…`, `/metrics` and `/` stay plain.
    case vau
    /// Both (development default): the same routes plain and inside the tunnel.
    case both
}

/// The VAU's key and certificate, and how it names users (fd-messaging-transport §4.1, §4.7).
public struct VAUSettings: Sendable {
    public var transport: Transport
    /// The private key of the encryption certificate (brainpoolP256r1).
    public var key: any VAUServerKeyAgreement
    /// `GET /VAUCertificate`'s answer: the encryption certificate, DER.
    public var certificateDER: [UInt8]
    /// `GET /VAUCertificateOCSPResponse`'s answer, DER, if one is configured (the route is
    /// deprecated for clients, API `authentisieren.adoc`; without one it answers 404, as REF).
    public var ocspResponseDER: [UInt8]?
    /// Signs the user pseudonyms handed out in `Userpseudonym` (A_20175).
    public var pseudonyms: UserPseudonyms

    public init(transport: Transport, key: any VAUServerKeyAgreement, certificateDER: [UInt8], ocspResponseDER: [UInt8]? = nil,
                pseudonyms: UserPseudonyms = UserPseudonyms(key: SymmetricKey(size: .bits128))) {
        self.transport = transport
        self.key = key
        self.certificateDER = certificateDER
        self.ocspResponseDER = ocspResponseDER
        self.pseudonyms = pseudonyms
    }
}
