import ArgumentParser
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation

/// `erx dev-pki`: a development CA and a prescriber's (HBA-style) certificate and key, so suites can
/// sign prescriptions that `erx serve --trust-anchors DIR/dev-ca.pem` verifies, and a VSDM key
/// (`vsdm-keys.json`) for the eGK proofs of `erx egk-proof`. Existing files are
/// kept (running it twice changes nothing); keys are written readable by the owner only.
struct DevPKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev-pki", abstract: "Make a development PKI for signing prescriptions.")

    @Option(help: "The directory to write the CA and the signer into.")
    var data = "erx-pki"

    @Option(help: "The signer's file name stem: DIR/NAME.pem and DIR/NAME-key.pem.")
    var signer = DevelopmentPKI.defaultSigner

    @Option(help: "The signer's profession in its Admission extension: \(Profession.allCases.map(\.rawValue).joined(separator: ", ")).")
    var profession = Profession.arzt

    @Option(help: "The Telematik-ID in the Admission extension (registrationNumber).")
    var telematikId = DevelopmentPKI.defaultTelematikID

    @Option(help: "The signer's validity: valid, expired (ended a year ago) or not-yet-valid (starts in a year).")
    var validity = Validity.valid

    enum Profession: String, ExpressibleByArgument, CaseIterable {
        case arzt, zahnarzt, apotheker, psychotherapeut
        var oid: SignerProfession {
            switch self {
            case .arzt: .arzt
            case .zahnarzt: .zahnarzt
            case .apotheker: .apotheker
            case .psychotherapeut: .psychotherapeut
            }
        }
    }

    enum Validity: String, ExpressibleByArgument, CaseIterable {
        case valid, expired, notYetValid = "not-yet-valid"
    }

    func run() throws {
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        let now = Date()
        let year: TimeInterval = 86_400 * 365
        let window: (Date?, Date?) = switch validity {
        case .valid: (nil, nil)
        case .expired: (now.addingTimeInterval(-2 * year), now.addingTimeInterval(-year))
        case .notYetValid: (now.addingTimeInterval(year), now.addingTimeInterval(2 * year))
        }
        let ca = try DevelopmentPKI.loadOrCreateCA(in: directory, now: now)
        let made = try DevelopmentPKI.loadOrCreateSigner(named: signer, in: directory, profession: profession.oid, telematikID: telematikId,
                                                        notBefore: window.0, notAfter: window.1, now: now)
        let vsdm = try VSDMKeySet.loadOrCreateDevelopment(in: directory)
        func line(_ file: String, _ created: Bool) -> String {
            "  \(directory.appendingPathComponent(file).path)\(created ? "" : " (kept)")"
        }
        print("""
        Development PKI in \(directory.path) (TEST-ONLY, no qualified signatures):
        \(line(DevelopmentPKI.caCertificateFile, ca.created))   CA certificate: the trust anchor
        \(line(DevelopmentPKI.caKeyFile, ca.created))
        \(line(DevelopmentPKI.certificateFile(signer), made.created))   signer certificate
        \(line(DevelopmentPKI.keyFile(signer), made.created))
        \(line(VSDMKeySet.developmentFile, vsdm.created))   VSDM key (operator A, version 1) for eGK proofs
        Sign a KBV bundle:   erx sign-prescription --data \(data)\(signer == DevelopmentPKI.defaultSigner ? "" : " --signer \(signer)") BUNDLE.xml --parameters > activate.json
        Verify at $activate: erx serve --trust-anchors \(directory.appendingPathComponent(DevelopmentPKI.caCertificateFile).path)
        eGK proofs:          erx serve --vsdm-keys \(vsdm.file.path); erx egk-proof --data \(data) --kvnr X123456788
        """)
    }
}

/// `erx sign-prescription`: wraps a KBV bundle (its bytes unchanged) in an enveloping CAdES-BES
/// CMS signed by a signer of `erx dev-pki`, as a prescriber's software does with the HBA.
struct SignPrescriptionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sign-prescription", abstract: "Sign a KBV bundle with a development signer (CMS, DER).")

    @Option(help: "The directory of 'erx dev-pki'.")
    var data = "erx-pki"

    @Option(help: "The signer's file name stem in that directory.")
    var signer = DevelopmentPKI.defaultSigner

    @Option(help: "The signing time (ISO 8601, e.g. 2026-10-01T09:30:00Z); default: now.")
    var signingTime: String?

    @Option(help: "Write the output to this file instead of standard output.")
    var output: String?

    @Flag(help: "Print a $activate Parameters (FHIR JSON) holding the CMS as the ePrescription Binary instead of the DER.")
    var parameters = false

    @Argument(help: "The KBV bundle (FHIR XML or JSON), or - for standard input.")
    var input: String

    func validate() throws {
        if let signingTime, Self.date(signingTime) == nil { throw ValidationError("--signing-time is not an ISO 8601 date-time") }
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return ISO8601DateFormatter().date(from: text) ?? formatter.date(from: text)
    }

    func run() throws {
        let directory = URL(fileURLWithPath: data, isDirectory: true)
        let identity = try DevelopmentPKI.load(certificate: directory.appendingPathComponent(DevelopmentPKI.certificateFile(signer)),
                                               key: directory.appendingPathComponent(DevelopmentPKI.keyFile(signer)))
        let bundle: [UInt8]
        do {
            bundle = try CommandInput(input, maxBytes: 1 << 26).bytes
        } catch {
            throw ValidationError(error.issue.text)
        }
        let cms = try identity.sign(bundle, signingTime: signingTime.flatMap(Self.date) ?? Date())
        var out = cms
        if parameters {
            let element = Element(name: "Parameters", children: [Element(name: "parameter", children: [
                Element(name: "name", value: "ePrescription"),
                Element(name: "resource", children: [Element(name: "Binary", children: [
                    Element(name: "contentType", value: "application/pkcs7-mime"),
                    Element(name: "data", value: Data(cms).base64EncodedString()),
                ])]),
            ])])
            out = try FHIRFormat.json.write(element)
        }
        if let output {
            try Data(out).write(to: URL(fileURLWithPath: output), options: .atomic)
        } else {
            try StandardOutput.write(out)
        }
    }
}
