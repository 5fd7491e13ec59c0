import Dispensing
import FHIRModel
import Foundation
import Testing

/// The prescriber's KBV resources and the pharmacy as the ePA medication service takes them
/// (A_25946 with table Tab_eRPFD_019, A_25947, A_25948, A_25949). Whether the result conforms to
/// the ePA profiles is tested against the official packages in `RegistryPayloadConformanceTests`.
struct EpaMappingTests {
    static let kbv = "https://fhir.kbv.de/StructureDefinition/"
    static let epa = "https://gematik.de/fhir/epa-medication/StructureDefinition/"
    static let directory = "https://gematik.de/fhir/directory/StructureDefinition/"
    static let origin = "https://gematik.de/fhir/directory/CodeSystem/Origin"

    static func e(_ name: String, _ value: String? = nil, _ children: [Element] = []) -> Element {
        Element(name: name, value: value, children: children)
    }

    static func meta(_ profile: String) -> Element { e("meta", nil, [e("profile", profile)]) }
    static func ext(_ url: String, _ value: Element) -> Element { e("extension", nil, [e("url", url), value]) }

    /// A KBV-shaped bundle of our own (not a corpus file): just what the mapping reads and changes.
    static let bundle = e("Bundle", nil, [
        e("entry", nil, [e("fullUrl", "urn:uuid:aa"), e("resource", nil, [e("MedicationRequest", nil, [
            e("id", "aa"), meta(kbv + "KBV_PR_ERP_Prescription|1.4"),
            ext(kbv + "KBV_EX_FOR_StatusCoPayment", e("valueCoding", nil, [e("code", "0")])),
            ext(kbv + "KBV_EX_ERP_EmergencyServicesFee", e("valueBoolean", "false")),
            ext(kbv + "KBV_EX_FOR_SER", e("valueBoolean", "false")),
            ext(kbv + "KBV_EX_FOR_Accident", e("valueString", "x")),
            ext(kbv + "KBV_EX_ERP_DosageFlag", e("valueBoolean", "true")),
            e("status", "active"), e("intent", "order"), e("medicationReference", nil, [e("reference", "urn:uuid:bb")]),
            e("subject", nil, [e("reference", "urn:uuid:cc")]), e("authoredOn", "2026-10-01"),
            e("requester", nil, [e("reference", "urn:uuid:dd")]), e("insurance", nil, [e("reference", "urn:uuid:ee")]),
            e("dosageInstruction", nil, [ext(kbv + "KBV_EX_ERP_DosageFlag", e("valueBoolean", "true")), e("text", "1-0-1")]),
        ])])]),
        e("entry", nil, [e("fullUrl", "urn:uuid:bb"), e("resource", nil, [e("Medication", nil, [
            e("id", "bb"), meta(kbv + "KBV_PR_ERP_Medication_PZN|1.4"),
            ext(kbv + "KBV_EX_Base_Medication_Type", e("valueCodeableConcept", nil, [e("text", "Medication")])),
            ext(kbv + "KBV_EX_ERP_Medication_Vaccine", e("valueBoolean", "false")),
            e("code", nil, [e("text", "Ibuprofen")]),
        ])])]),
        e("entry", nil, [e("fullUrl", "urn:uuid:dd"), e("resource", nil, [e("Practitioner", nil, [
            e("id", "dd"), meta(kbv + "KBV_PR_FOR_Practitioner|1.3"),
            e("name", nil, [e("use", "official"), e("family", "Topp-Glücklich"), e("given", "Hans"), e("prefix", "Dr. med.")]),
        ])])]),
        e("entry", nil, [e("fullUrl", "urn:uuid:ff"), e("resource", nil, [e("Organization", nil, [
            e("id", "ff"), meta(kbv + "KBV_PR_FOR_Organization|1.3"),
            e("identifier", nil, [e("system", "https://fhir.kbv.de/NamingSystem/KBV_NS_Base_BSNR"), e("value", "031234567")]),
            e("name", "Hausarztpraxis"),
        ])])]),
    ])

    static func resource(_ payload: Element, _ part: String) -> Element? {
        payload.child("parameter")?.children(named: "part").first { $0.value(of: "name") == part }?.child("resource")?.wrappedResource
    }

    static func urls(_ resource: Element?) -> [String] {
        resource?.children(named: "extension").compactMap { $0.value(of: "url") } ?? []
    }

    static func provision() throws -> Element {
        var ready = Fixtures.task(.ready)
        ready.prescription = bundle
        let activation = TaskChange(task: ready, audit: Fixtures.audit(.activate, ready.id, by: Fixtures.doctor))
        return try #require(try RegistryTransfers.transfer(for: activation, before: Fixtures.task(.draft), storedDispensations: { [] },
                                                           ids: FixedIDs())).payload
    }

    /// Tab_eRPFD_019, KBV_PR_ERP_Prescription → epa-medication-request.
    @Test func theMedicationRequestFollowsTheTable() throws {
        let request = try #require(Self.resource(try Self.provision(), "medicationRequest"))
        #expect(request.descendant("meta", "profile")?.value == Self.epa + "epa-medication-request")
        #expect(request.value(of: "intent") == "filler-order")
        #expect(request.child("insurance") == nil)
        #expect(request.child("requester") == nil)
        // The subject by KVNR instead of the bundle's reference (R4: subject 1..1).
        #expect(request.descendant("subject", "reference") == nil)
        #expect(request.descendant("subject", "identifier", "system")?.value == "http://fhir.de/sid/gkv/kvid-10")
        #expect(request.descendant("subject", "identifier", "value")?.value == Fixtures.kvnr.rawValue)
        #expect(request.descendant("medicationReference", "reference")?.value == "Medication/bb")
        // Left out: Zuzahlungsstatus, Notdienstgebuehr, Unfallinformationen, Dosierungskennzeichen; the rest carried over (A_25949).
        #expect(Self.urls(request) == [Self.kbv + "KBV_EX_FOR_SER"])
        #expect(Self.urls(request.child("dosageInstruction")).isEmpty)
        #expect(request.descendant("dosageInstruction", "text")?.value == "1-0-1")
        #expect(request.value(of: "authoredOn") == "2026-10-01")
    }

    /// KBV_PR_ERP_Medication_PZN → epa-medication without `extension:Kategorie`.
    @Test func theMedicationLosesOnlyItsKBVType() throws {
        let medication = try #require(Self.resource(try Self.provision(), "medication"))
        #expect(medication.descendant("meta", "profile")?.value == Self.epa + "epa-medication")
        #expect(medication.children(named: "meta").first?.children(named: "profile").count == 1)
        #expect(Self.urls(medication) == [Self.kbv + "KBV_EX_ERP_Medication_Vaccine"])
        #expect(medication.descendant("code", "text")?.value == "Ibuprofen")
    }

    /// KBV_PR_FOR_Practitioner / _Organization → the directory profiles, with the Origin tag they
    /// require; the organization takes the Telematik-ID of the caller of `$activate`.
    @Test func practitionerAndOrganizationBecomeDirectoryEntries() throws {
        let payload = try Self.provision()
        let practitioner = try #require(Self.resource(payload, "practitioner"))
        #expect(practitioner.descendant("meta", "profile")?.value == Self.directory + "PractitionerDirectory")
        #expect(practitioner.descendant("meta", "tag", "system")?.value == Self.origin)
        #expect(practitioner.descendant("name", "text")?.value == "Dr. med. Hans Topp-Glücklich")
        #expect(practitioner.child("name")?.children.map(\.name) == ["use", "text", "family", "given", "prefix"])
        let organization = try #require(Self.resource(payload, "organization"))
        #expect(organization.descendant("meta", "profile")?.value == Self.directory + "OrganizationDirectory")
        #expect(organization.descendant("meta", "tag", "code")?.value == "ldap")
        let identifiers = organization.children(named: "identifier").map { [$0.value(of: "system"), $0.value(of: "value")] }
        #expect(identifiers == [["https://gematik.de/fhir/sid/telematik-id", Fixtures.doctorID.rawValue],
                                ["https://fhir.kbv.de/NamingSystem/KBV_NS_Base_BSNR", "031234567"]])
        #expect(organization.value(of: "name") == "Hausarztpraxis")
    }

    /// A_25947: the dispensing pharmacy as an OrganizationDirectory of its Telematik-ID and the
    /// name its token gives.
    @Test func thePharmacyIsNamedAsItsTokenNamesIt() throws {
        let task = Fixtures.task(.inProgress)
        let named = Caller(profession: .publicPharmacy, telematikID: Fixtures.pharmacyID, name: "Apotheke am Markt")
        var change = try DispenseRulesTests.dispense(task)
        change.audit = Fixtures.audit(.dispense, task.id, by: named)
        let payload = try #require(try RegistryTransfers.transfer(for: change, before: task, storedDispensations: { [] }, ids: FixedIDs())).payload
        let pharmacy = try #require(Self.resource(payload, "organization"))
        #expect(pharmacy.descendant("meta", "profile")?.value == Self.directory + "OrganizationDirectory")
        #expect(pharmacy.descendant("meta", "tag", "system")?.value == Self.origin)
        #expect(pharmacy.descendant("identifier", "value")?.value == Fixtures.pharmacyID.rawValue)
        #expect(pharmacy.value(of: "name") == "Apotheke am Markt")
    }
}
