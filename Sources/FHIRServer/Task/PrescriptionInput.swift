import Dispensing
import FHIRFormats
import FHIRModel
import Foundation

/// `$activate`'s input: the `ePrescription` Binary of a Parameters. A CMS (PKCS#7) SignedData
/// enveloping the KBV bundle is the production form; the bundle itself (as the body, or as a Binary
/// of type `application/fhir+xml`/`+json`) is admitted only with `--accept-unsigned`.
enum PrescriptionInput {
    /// The bundle, the CMS it came in (kept byte for byte for the pharmacies) and its signing time.
    /// A bundle admitted unsigned is put, as FHIR XML, into a CMS of the server's development signer
    /// (its certificate says it is no qualified signature), so `$accept` hands out a CMS either way.
    static func bundle(in body: Element, flowType: FlowType, acceptUnsigned: Bool, signed: SignedPrescription) async throws
        -> (bundle: Element, signedData: [UInt8]?, signedAt: Date?)
    {
        if body.name == "Bundle" {
            guard acceptUnsigned else { throw unsignedRefused(expression: "Bundle") }
            return (body, try developmentSigned(body, signed), nil)
        }
        guard body.name == "Parameters" else { throw RequestError.wrongResource(expected: "Parameters", found: body.name) }
        let parameters = body.children(named: "parameter")
        // Exactly one parameter, the ePrescription (fd-parity §8.2, before the checks).
        guard parameters.count == 1, let index = parameters.firstIndex(where: { $0.value(of: "name") == "ePrescription" }),
              let binary = parameters[index].child("resource")?.wrappedResource, binary.name == "Binary"
        else {
            throw DispensingError.invalidPrescription(reason: "Parameters must hold the ePrescription Binary.", expression: "Parameters.parameter")
        }
        let location = "Parameters.parameter[\(index)].resource"
        guard let data = binary.value(of: "data").flatMap({ Data(base64Encoded: $0) }) else {
            throw DispensingError.invalidPrescription(reason: "The Binary has no base64 data.", expression: location + ".data")
        }
        let contentType = ContentNegotiation.split(binary.value(of: "contentType") ?? "").type
        switch contentType {
        case "application/pkcs7-mime":
            let cms = Array(data)
            let verified = try await signed.verify(cms, flowType: flowType, expression: location + ".data")
            return (try decode(verified.content, expression: location + ".data"), cms, verified.signedAt)
        case "application/fhir+xml", "application/fhir+json", "application/xml", "application/json":
            guard acceptUnsigned else { throw unsignedRefused(expression: location + ".contentType") }
            let bundle = try decode(Array(data), expression: location + ".data")
            return (bundle, try developmentSigned(bundle, signed), nil)
        default:
            throw DispensingError.invalidPrescription(reason: "The ePrescription must be application/pkcs7-mime.", expression: location + ".contentType")
        }
    }

    static func developmentSigned(_ bundle: Element, _ signed: SignedPrescription) throws -> [UInt8] {
        let identity = try signed.developmentSigner ?? DevelopmentSigner.processIdentity
        return try identity.sign(WireFormat.xml.fhirFormat.write(bundle), signingTime: Date())
    }

    static func decode(_ bytes: [UInt8], expression: String) throws -> Element {
        guard let format = FHIRFormat.sniff(bytes) else {
            throw DispensingError.invalidPrescription(reason: "The prescription is neither FHIR XML nor FHIR JSON.", expression: expression)
        }
        do {
            return try format.read(bytes).resource
        } catch {
            throw DispensingError.invalidPrescription(reason: "The prescription bundle cannot be read: \(error.issue.text)", expression: expression)
        }
    }

    static func unsignedRefused(expression: String) -> DispensingError {
        .invalidPrescription(reason: "Unsigned prescriptions are refused; the server accepts them only when started with --accept-unsigned.", expression: expression)
    }
}
