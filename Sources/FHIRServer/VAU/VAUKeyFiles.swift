public import Foundation
public import TICrypto

/// The VAU's encryption key and certificate (brainpoolP256r1): the operator's files, or a
/// development pair made once in the data directory. A real VAU certificate comes from the TI's
/// CA and is checked by clients against the TSL; the development one is self-signed, so only a
/// client that pins it (the tests, `erx vau-request`) will use it.
public enum VAUKeyFiles {
    public static let keyFileName = "vau-encryption-key.pem"
    public static let certificateFileName = "vau-encryption-certificate.pem"

    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case mismatch
        public var description: String {
            switch self {
            case .unreadable(let file): "\(file) is not a brainpoolP256r1 key or certificate in PEM"
            case .mismatch: "the VAU certificate does not hold the public key of the VAU key"
            }
        }
    }

    /// The pair from `key` and `certificate` (PEM files), or the development pair in `directory`.
    public static func load(key: URL?, certificate: URL?, directory: URL) throws -> (BrainpoolP256r1.PrivateKey, BrainpoolP256r1.Certificate) {
        let privateKey: BrainpoolP256r1.PrivateKey
        let certified: BrainpoolP256r1.Certificate
        if let key, let certificate {
            privateKey = try read(key) { try BrainpoolP256r1.PrivateKey(pemRepresentation: $0) }
            certified = try read(certificate) { try BrainpoolP256r1.Certificate(pemRepresentation: $0) }
        } else {
            privateKey = try KeyFile.loadOrCreate(named: keyFileName, in: directory, parse: { try BrainpoolP256r1.PrivateKey(pemRepresentation: $0) },
                                                  make: { try BrainpoolP256r1.PrivateKey() }, pem: \.pemRepresentation)
            certified = try KeyFile.loadOrCreate(
                named: certificateFileName, in: directory, parse: { try BrainpoolP256r1.Certificate(pemRepresentation: $0) },
                make: { try BrainpoolP256r1.Certificate.selfSigned(key: privateKey, commonName: "erx development VAU — not a TI certificate") },
                pem: \.pemRepresentation
            )
        }
        guard certified.publicKey == privateKey.publicKey else { throw Failure.mismatch }
        return (privateKey, certified)
    }

    private static func read<T>(_ file: URL, _ parse: (String) throws -> T) throws -> T {
        guard let text = try? String(contentsOf: file, encoding: .utf8), let value = try? parse(text) else {
            throw Failure.unreadable(file.path)
        }
        return value
    }
}
