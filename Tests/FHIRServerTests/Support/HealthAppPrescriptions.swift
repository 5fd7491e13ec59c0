import Dispensing
import FHIRFormats
import FHIRModel
import Foundation

/// DiGA prescriptions (`KBV_PR_EVDGA_Bundle` 1.2, flow type 162) for the tests. No official evDGA
/// example is among the fixtures, so the bundle is made from KBV's 1.3.2 PZN example: its Patient,
/// Practitioner, Organization and Coverage (kbv.ita.for 1.2, which evDGA 1.2 uses too) are kept, and
/// its Composition, MedicationRequest and Medication are replaced by our evDGA Composition and
/// `KBV_PR_EVDGA_HealthAppRequest` (a DeviceRequest naming the app by PZN). Skipped without fixtures,
/// as every test that reads them.
enum HealthAppPrescriptions {
    static let source = "conformance/bundle/kbv1.3.2-Beispiel_1_PZN.xml"
    /// The example's patient (the KVNR its tasks get) and its resources' full URLs.
    static let kvnr = "K220635158"
    static let patient = "urn:uuid:93866fdc-3e50-4902-a7e9-891b54737b5e"
    static let practitioner = "urn:uuid:bc329f24-3d65-4286-bf06-b54dd6cad655"
    static let organization = "urn:uuid:5d3f4ac0-2b44-4d48-b363-e63efa72973b"
    static let coverage = "urn:uuid:1b89236c-ab14-4e92-937e-5af0b59d0cd4"
    static let request = "urn:uuid:2f6a3d1e-9b7c-4e25-8d0a-5c1f3b7e9a42"
    /// A PZN with a valid check digit (A_25992), ours.
    static let pzn = "17946626"

    /// The DiGA prescription for `id`, prescribed on `authoredOn`; `edits` are applied to its XML
    /// text (whitespace between tags removed) as in ``KBVExamples/bundle(_:edits:)``.
    static func bundle(id: String, authoredOn: String = "2026-10-01", edits: [(String, String)] = []) throws -> Element {
        var text = try String(contentsOf: KBVExamples.shared.appendingPathComponent(source), encoding: .utf8)
        text = text.replacingOccurrences(of: #">\s+<"#, with: "><", options: .regularExpression)
        text = text.replacingOccurrences(of: #"<!--.*?-->"#, with: "", options: .regularExpression)
        // Everything from the first entry to the Patient's entry is the medicine prescription.
        guard let first = text.range(of: "<entry>"), let patientEntry = text.range(of: "<entry><fullUrl value=\"\(patient)\" />") else {
            throw KBVExamples.EditNotFound(text: "the entries of \(source)")
        }
        text.replaceSubrange(first.lowerBound..<patientEntry.lowerBound, with: composition(authoredOn) + deviceRequest(authoredOn))
        text = text.replacingOccurrences(of: "KBV_PR_ERP_Bundle|1.3", with: "KBV_PR_EVDGA_Bundle|1.2")
        text = text.replacingOccurrences(of: "2024-05-20T08:30:00Z", with: authoredOn + "T08:30:00Z")
        for (old, new) in edits {
            guard text.contains(old) else { throw KBVExamples.EditNotFound(text: old) }
            text = text.replacingOccurrences(of: old, with: new)
        }
        return KBVExamples.withID(try FHIRFormat.xml.read(Array(text.utf8)).resource, id)
    }

    static func composition(_ authoredOn: String) -> String {
        let sectionType = "https://fhir.kbv.de/CodeSystem/KBV_CS_EVDGA_Section_Type"
        return """
        <entry><fullUrl value="urn:uuid:7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d" /><resource><Composition xmlns="http://hl7.org/fhir">\
        <id value="7d1c2b3a-4e5f-4a6b-9c8d-0e1f2a3b4c5d" />\
        <meta><profile value="https://fhir.kbv.de/StructureDefinition/KBV_PR_EVDGA_Composition|1.2" /></meta>\
        <extension url="https://fhir.kbv.de/StructureDefinition/KBV_EX_FOR_Legal_basis"><valueCoding>\
        <system value="https://fhir.kbv.de/CodeSystem/KBV_CS_SFHIR_KBV_STATUSKENNZEICHEN" /><code value="00" /></valueCoding></extension>\
        <status value="final" />\
        <type><coding><system value="https://fhir.kbv.de/CodeSystem/KBV_CS_SFHIR_KBV_FORMULAR_ART" /><code value="e16D" /></coding></type>\
        <subject><reference value="\(patient)" /></subject>\
        <date value="\(authoredOn)T08:00:00Z" />\
        <author><reference value="\(practitioner)" /><type value="Practitioner" /></author>\
        <author><type value="Device" /><identifier><system value="https://fhir.kbv.de/NamingSystem/KBV_NS_FOR_Pruefnummer" />\
        <value value="Y/400/2107/36/999" /></identifier></author>\
        <title value="elektronische Verordnung digitaler Gesundheitsanwendungen" />\
        <custodian><reference value="\(organization)" /></custodian>\
        <section><code><coding><system value="\(sectionType)" /><code value="Prescription" /></coding></code>\
        <entry><reference value="\(request)" /></entry></section>\
        <section><code><coding><system value="\(sectionType)" /><code value="HealthInsurance" /></coding></code>\
        <entry><reference value="\(coverage)" /></entry></section>\
        </Composition></resource></entry>
        """
    }

    static func deviceRequest(_ authoredOn: String) -> String {
        """
        <entry><fullUrl value="\(request)" /><resource><DeviceRequest xmlns="http://hl7.org/fhir">\
        <id value="2f6a3d1e-9b7c-4e25-8d0a-5c1f3b7e9a42" />\
        <meta><profile value="https://fhir.kbv.de/StructureDefinition/KBV_PR_EVDGA_HealthAppRequest|1.2" /></meta>\
        <extension url="https://fhir.kbv.de/StructureDefinition/KBV_EX_FOR_SER"><valueBoolean value="false" /></extension>\
        <status value="active" /><intent value="order" />\
        <codeCodeableConcept><coding><system value="http://fhir.de/CodeSystem/ifa/pzn" /><code value="\(pzn)" /></coding>\
        <text value="erx Testanwendung Schlaf" /></codeCodeableConcept>\
        <subject><reference value="\(patient)" /></subject>\
        <authoredOn value="\(authoredOn)" />\
        <requester><reference value="\(practitioner)" /></requester>\
        <insurance><reference value="\(coverage)" /></insurance>\
        </DeviceRequest></resource></entry>
        """
    }
}
