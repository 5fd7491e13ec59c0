public import FHIRModel
public import Foundation

/// What `$activate` takes from the prescriber's bundle (the KBV `KBV_PR_ERP_Bundle`, or for DiGA
/// `KBV_PR_EVDGA_Bundle`): its
/// PrescriptionID, the insured person and the prescription date.
public struct PrescriptionBundle: Sendable, Hashable {
    public let prescriptionID: String
    public let kvnr: KVNR
    /// `MedicationRequest.authoredOn` (DiGA: `DeviceRequest.authoredOn`), a FHIR date.
    public let authoredOn: String
    public let bundle: Element
    /// The prescriber's CMS SignedData exactly as uploaded, kept so that pharmacies receive the QES
    /// unchanged (A_19169-01, fd-parity.md §2.3); `nil` for a bundle accepted unsigned.
    public let signedData: [UInt8]?
    /// When the prescriber signed (the CMS `signingTime` attribute, verified); `nil` for a bundle
    /// accepted unsigned. The FD requires the signing day to be the `authoredOn` day (A_22487).
    public let signedAt: Date?

    /// Reads the facts; throws `invalidPrescription` naming the element that is missing or wrong.
    public init(_ bundle: Element, signedData: [UInt8]? = nil, signedAt: Date? = nil) throws(DispensingError) {
        guard bundle.name == "Bundle" else {
            throw .invalidPrescription(reason: "The prescription must be a Bundle.", expression: bundle.name)
        }
        let view = BundleView(unchecked: bundle)
        guard let identifier = bundle.child("identifier"), identifier.value(of: "system") == Systems.prescriptionID,
              let prescriptionID = identifier.value(of: "value")
        else {
            throw .invalidPrescription(reason: "The bundle has no PrescriptionID identifier.", expression: "Bundle.identifier")
        }
        let resources = view.entries.enumerated().compactMap { index, entry in entry.resource.map { (index, $0) } }
        guard let (patientIndex, patient) = resources.first(where: { $0.1.name == "Patient" }) else {
            throw .invalidPrescription(reason: "The bundle has no Patient.", expression: "Bundle.entry")
        }
        guard let kvnrText = patient.children(named: "identifier").first(where: { Self.isKVNRIdentifier($0) })?.value(of: "value"),
              let kvnr = KVNR(kvnrText)
        else {
            throw .invalidPrescription(
                reason: "The Patient has no valid KVNR.",
                expression: "Bundle.entry[\(patientIndex)].resource.identifier"
            )
        }
        // A DiGA prescription (`KBV_PR_EVDGA_Bundle`, flow 162) orders its app with a DeviceRequest.
        guard let (requestIndex, request) = resources.first(where: { $0.1.name == "MedicationRequest" || $0.1.name == "DeviceRequest" }) else {
            throw .invalidPrescription(reason: "The bundle has no MedicationRequest.", expression: "Bundle.entry")
        }
        guard let authoredText = request.value(of: "authoredOn"), let authoredOn = CalendarDate.datePart(of: authoredText) else {
            throw .invalidPrescription(
                reason: "The \(request.name) has no authoredOn date.",
                expression: "Bundle.entry[\(requestIndex)].resource.authoredOn"
            )
        }
        self.prescriptionID = prescriptionID
        self.kvnr = kvnr
        self.authoredOn = authoredOn
        self.bundle = bundle
        self.signedData = signedData
        self.signedAt = signedAt
    }

    /// KBV bundles write the GKV KVNR with `http://fhir.de/sid/gkv/kvid-10` and the PKV one with
    /// the PKV system (older ones) or the GKV system with type `PKV`.
    private static func isKVNRIdentifier(_ identifier: Element) -> Bool {
        let system = identifier.value(of: "system")
        return system == Systems.kvnr || system == Systems.pkvKVNR
    }
}
