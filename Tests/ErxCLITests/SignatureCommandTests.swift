import Foundation
import StoreTestSupport
import Testing

/// `erx dev-pki` and `erx sign-prescription` run as processes; `openssl` checks what they made.
struct SignatureCommandTests {
    static let bundle = Data(#"<Bundle xmlns="http://hl7.org/fhir"><type value="document"/></Bundle>"#.utf8)

    func run(_ arguments: [String], stdin: Data? = nil) throws -> (status: Int32, output: String) {
        try ConvertCommandTests().run(arguments, stdin: stdin)
    }

    func openssl(_ arguments: [String]) throws -> (status: Int32, output: Data) {
        let finished = try ProcessLaunch.openssl(arguments)
        return (finished.status, finished.output)
    }

    func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("erx-pki-cli-\(UUID().uuidString)")
    }

    @Test func devPKIWritesACAAndAPrescriberOnceWithPrivateKeys() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try run(["dev-pki", "--data", directory.path])
        #expect(first.status == 0)
        #expect(first.output.contains("erx serve --trust-anchors \(directory.appendingPathComponent("dev-ca.pem").path)"))
        let files = ["dev-ca.pem", "dev-ca-key.pem", "prescriber.pem", "prescriber-key.pem", "vsdm-keys.json"]
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == files.sorted())
        for key in ["dev-ca-key.pem", "prescriber-key.pem", "vsdm-keys.json"] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(key).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key)")
        }
        let before = try files.map { try Data(contentsOf: directory.appendingPathComponent($0)) }
        let second = try run(["dev-pki", "--data", directory.path, "--profession", "apotheker"])
        #expect(second.status == 0)
        #expect(second.output.contains("(kept)"))
        #expect(try files.map { try Data(contentsOf: directory.appendingPathComponent($0)) } == before, "an existing PKI is not overwritten")
        // The prescriber chains to the CA and names its profession (Arzt) in the Admission extension.
        #expect(try openssl(["verify", "-CAfile", directory.appendingPathComponent("dev-ca.pem").path,
                             directory.appendingPathComponent("prescriber.pem").path]).status == 0)
        let text = String(decoding: try openssl(["x509", "-noout", "-text", "-in", directory.appendingPathComponent("prescriber.pem").path]).output, as: UTF8.self)
        #expect(text.contains("1.2.276.0.76.4.30"))
    }

    @Test func devPKIMakesOtherProfessionsAndExpiredSigners() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try run(["dev-pki", "--data", directory.path, "--signer", "apotheker", "--profession", "apotheker"]).status == 0)
        let text = String(decoding: try openssl(["x509", "-noout", "-text", "-in", directory.appendingPathComponent("apotheker.pem").path]).output, as: UTF8.self)
        #expect(text.contains("1.2.276.0.76.4.32"))
        #expect(try run(["dev-pki", "--data", directory.path, "--signer", "old", "--validity", "expired"]).status == 0)
        #expect(try openssl(["x509", "-noout", "-checkend", "0", "-in", directory.appendingPathComponent("old.pem").path]).status != 0)
        #expect(try run(["dev-pki", "--data", directory.path, "--profession", "bäcker"]).status != 0)
    }

    @Test func signPrescriptionMakesACMSThatOpenSSLVerifies() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try run(["dev-pki", "--data", directory.path]).status == 0)
        let input = directory.appendingPathComponent("bundle.xml")
        try Self.bundle.write(to: input)
        let output = directory.appendingPathComponent("bundle.p7s")
        #expect(try run(["sign-prescription", "--data", directory.path, "--signing-time", "2026-10-01T09:30:00Z", "--output", output.path, input.path]).status == 0)
        let verified = try openssl(["cms", "-verify", "-binary", "-inform", "DER", "-in", output.path,
                                    "-CAfile", directory.appendingPathComponent("dev-ca.pem").path, "-purpose", "any"])
        #expect(verified.status == 0)
        #expect(verified.output == Self.bundle, "the bundle's bytes are signed unchanged")
        let attributes = String(decoding: try openssl(["cms", "-cmsout", "-print", "-inform", "DER", "-in", output.path]).output, as: UTF8.self)
        #expect(attributes.contains("signingTime"))
        #expect(attributes.contains("UTCTIME:Oct  1 09:30:00 2026 GMT"))
        #expect(attributes.contains("id-smime-aa-signingCertificateV2"))

        // From standard input, as a ready $activate Parameters.
        let parameters = try run(["sign-prescription", "--data", directory.path, "--parameters", "-"], stdin: Self.bundle)
        #expect(parameters.status == 0)
        #expect(parameters.output.contains(#""resourceType": "Parameters""#) || parameters.output.contains(#""resourceType":"Parameters""#))
        #expect(parameters.output.contains("ePrescription"))
        #expect(parameters.output.contains("application/pkcs7-mime"))
        #expect(try run(["sign-prescription", "--data", directory.path, "--signing-time", "yesterday", input.path]).status != 0)
    }
}
