import Foundation
import StoreTestSupport
import TICrypto
import Testing

/// Every operation checked by the `openssl` command line (Debian's OpenSSL 3), in both directions:
/// what we make, openssl accepts; what openssl makes, we accept.
@Suite struct BrainpoolOpenSSLCrossCheckTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ticrypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func write(_ name: String, _ data: Data) throws -> String {
        try data.write(to: URL(fileURLWithPath: file(name)))
        return file(name)
    }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> Data {
        let finished = try ProcessLaunch.openssl(arguments)
        #expect(finished.status == 0, "openssl \(arguments.joined(separator: " ")): \(String(decoding: finished.error, as: UTF8.self))")
        return finished.output
    }

    func opensslKey(_ name: String) throws -> String {
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1", "-out", file(name)])
        return file(name)
    }

    @Test("Our signature verifies with openssl dgst -sha256 -verify")
    func ourSignatureVerifiesInOpenSSL() throws {
        let key = try BrainpoolP256r1.PrivateKey()
        let message = Data("header.payload".utf8)
        let publicKey = try write("pub.pem", Data(key.publicKey.pemRepresentation.utf8))
        let signature = try write("sig.der", try key.signature(for: message).derRepresentation)
        let output = try openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signature, try write("msg", message)])
        #expect(String(decoding: output, as: UTF8.self).contains("Verified OK"))
        // And openssl refuses it for another message, so the check above can fail.
        let refused = try ProcessLaunch.openssl(["dgst", "-sha256", "-verify", publicKey, "-signature", signature, try write("other", Data("header.payloae".utf8))])
        #expect(refused.status != 0)
    }

    @Test("openssl's signature (key in PKCS#8 PEM) verifies with us, raw and DER")
    func opensslSignatureVerifiesWithUs() throws {
        let keyFile = try opensslKey("key.pem")
        let message = Data("eyJhbGciOiJCUDI1NlIxIn0.eyJzdWIiOiJ4In0".utf8)
        let messageFile = try write("msg", message)
        try openssl(["dgst", "-sha256", "-sign", keyFile, "-out", file("sig.der"), messageFile])
        let publicPEM = try openssl(["pkey", "-in", keyFile, "-pubout"])
        let publicKey = try BrainpoolP256r1.PublicKey(pemRepresentation: String(decoding: publicPEM, as: UTF8.self))
        let signature = try BrainpoolP256r1.ECDSASignature(derRepresentation: Data(contentsOf: URL(fileURLWithPath: file("sig.der"))))
        #expect(publicKey.isValidSignature(signature, for: message))
        #expect(publicKey.isValidSignature(try .init(rawRepresentation: signature.rawRepresentation), for: message))
        // The private key openssl wrote is ours to read too, and has the same public key.
        let privateKey = try BrainpoolP256r1.PrivateKey(pemRepresentation: String(contentsOfFile: keyFile, encoding: .utf8))
        #expect(privateKey.publicKey == publicKey)
    }

    @Test("A SEC1 key of openssl ecparam -genkey is read (EC PARAMETERS block before it)")
    func sec1KeyFromOpenSSL() throws {
        let pem = try openssl(["ecparam", "-name", "brainpoolP256r1", "-genkey"])
        let key = try BrainpoolP256r1.PrivateKey(pemRepresentation: String(decoding: pem, as: UTF8.self))
        let publicPEM = try openssl(["pkey", "-in", try write("sec1.pem", pem), "-pubout"])
        #expect(try BrainpoolP256r1.PublicKey(pemRepresentation: String(decoding: publicPEM, as: UTF8.self)) == key.publicKey)
    }

    @Test("ECDH agrees with openssl pkeyutl -derive, both ways")
    func ecdhAgreesWithOpenSSL() throws {
        let ours = try BrainpoolP256r1.PrivateKey()
        let theirsFile = try opensslKey("theirs.pem")
        let theirPublic = try BrainpoolP256r1.PublicKey(pemRepresentation: String(decoding: try openssl(["pkey", "-in", theirsFile, "-pubout"]), as: UTF8.self))
        // openssl: their private key with our public key; we: ours with theirs.
        try openssl(["pkeyutl", "-derive", "-inkey", theirsFile, "-peerkey", try write("ours.pub.pem", Data(ours.publicKey.pemRepresentation.utf8)),
                     "-out", file("secret")])
        let theirSecret = try Data(contentsOf: URL(fileURLWithPath: file("secret")))
        #expect(theirSecret.count == 32)
        #expect(try ours.sharedSecret(with: theirPublic) == theirSecret)
        // openssl reads our PKCS#8 private key and derives the same from its side.
        try openssl(["pkeyutl", "-derive", "-inkey", try write("ours.pem", Data(ours.pemRepresentation.utf8)),
                     "-peerkey", try write("theirs.pub.pem", Data(theirPublic.pemRepresentation.utf8)), "-out", file("secret2")])
        #expect(try Data(contentsOf: URL(fileURLWithPath: file("secret2"))) == theirSecret)
    }

    @Test("Our self-signed certificate as openssl x509 reads it: subject, key, SKI, signature")
    func selfSignedCertificateInOpenSSL() throws {
        let key = try BrainpoolP256r1.PrivateKey()
        let certificate = try BrainpoolP256r1.Certificate.selfSigned(key: key, commonName: "erx development VAU")
        #expect(certificate.publicKey == key.publicKey)
        #expect(certificate.subject == "CN=erx development VAU")
        #expect(certificate.isValid(at: Date()))
        let certificateFile = try write("cert.pem", Data(certificate.pemRepresentation.utf8))
        let subject = String(decoding: try openssl(["x509", "-in", certificateFile, "-noout", "-subject", "-nameopt", "RFC2253"]), as: UTF8.self)
        #expect(subject.trimmingCharacters(in: .whitespacesAndNewlines) == "subject=CN=erx development VAU")
        let publicPEM = String(decoding: try openssl(["x509", "-in", certificateFile, "-noout", "-pubkey"]), as: UTF8.self)
        #expect(try BrainpoolP256r1.PublicKey(pemRepresentation: publicPEM) == key.publicKey)
        let ski = String(decoding: try openssl(["x509", "-in", certificateFile, "-noout", "-ext", "subjectKeyIdentifier"]), as: UTF8.self)
        let skiHex = certificate.subjectKeyIdentifier.map { $0.map { String(format: "%02X", $0) }.joined(separator: ":") }
        #expect(skiHex != nil && ski.contains(skiHex!))
        // The self-signature verifies (the certificate is its own issuer; -partial_chain trusts it as given).
        let verified = String(decoding: try openssl(["verify", "-partial_chain", "-CAfile", certificateFile, certificateFile]), as: UTF8.self)
        #expect(verified.contains("OK"))
    }

    @Test("A certificate made by openssl req -x509 is read: key, subject, validity")
    func opensslCertificateIsRead() throws {
        let keyFile = try opensslKey("vau.pem")
        try openssl(["req", "-x509", "-key", keyFile, "-subj", "/C=DE/O=erx test/CN=vau.erx.invalid", "-days", "30",
                     "-outform", "DER", "-out", file("vau.der")])
        let certificate = try BrainpoolP256r1.Certificate(derRepresentation: Data(contentsOf: URL(fileURLWithPath: file("vau.der"))))
        let key = try BrainpoolP256r1.PrivateKey(pemRepresentation: String(contentsOfFile: keyFile, encoding: .utf8))
        #expect(certificate.publicKey == key.publicKey)
        #expect(certificate.subject == "CN=vau.erx.invalid,O=erx test,C=DE")
        #expect(abs(certificate.notAfter.timeIntervalSince(certificate.notBefore) - 30 * 86_400) < 2)
        #expect(certificate.subjectKeyIdentifier?.count == 20)
    }
}
