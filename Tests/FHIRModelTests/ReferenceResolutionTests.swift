import FHIRModel
import Testing

/// `resolveReference` compares bytes in place; these pin each form a reference may take, and the
/// near misses it must not take for a match.
@Suite struct ReferenceResolutionTests {
    let medication = Element(name: "Medication", children: [Element(name: "id", value: "m1")])
    let patient = Element(name: "Patient", children: [Element(name: "id", value: "p1")])

    /// A Parameters body with a Medication in a part and a Bundle in a parameter holding a Patient with
    /// a `fullUrl`, and a MedicationDispense with a contained Medication.
    var document: Element {
        let bundle = Element(name: "Bundle", children: [
            Element(name: "id", value: "b1"),
            Element(name: "entry", children: [
                Element(name: "fullUrl", value: "https://example.org/fhir/Patient/p1"),
                Element(name: "resource", children: [patient]),
            ]),
        ])
        let dispense = Element(name: "MedicationDispense", children: [
            Element(name: "id", value: "d1"),
            Element(name: "contained", children: [Element(name: "Medication", children: [Element(name: "id", value: "c1")])]),
        ])
        return Element(name: "Parameters", children: [
            Element(name: "parameter", children: [
                Element(name: "name", value: "rxDispensation"),
                Element(name: "part", children: [Element(name: "name", value: "medication"), Element(name: "resource", children: [medication])]),
                Element(name: "part", children: [Element(name: "name", value: "medicationDispense"), Element(name: "resource", children: [dispense])]),
            ]),
            Element(name: "parameter", children: [Element(name: "name", value: "bundle"), Element(name: "resource", children: [bundle])]),
        ])
    }

    @Test func eachFormResolves() {
        for reference in ["urn:uuid:m1", "Medication/m1", "https://example.org/fhir/Medication/m1", "/Medication/m1"] {
            #expect(document.resolveReference(reference)?.value(of: "id") == "m1", "\(reference)")
        }
        #expect(document.resolveReference("#c1")?.value(of: "id") == "c1")
        #expect(document.resolveReference("https://example.org/fhir/Patient/p1")?.name == "Patient")
        #expect(document.resolveReference("Patient/p1")?.name == "Patient")
        #expect(document.resolveReference("MedicationDispense/d1")?.name == "MedicationDispense")
    }

    @Test func nearMissesDoNotResolve() {
        for reference in ["m1", "#m2", "urn:uuid:m", "urn:uuid:xm1", "Medication/xm1", "XMedication/m1", "Medicationm1",
                          "https://example.org/fhir/XMedication/m1", "Patient/m1", "urn:oid:m1", "#", ""] {
            #expect(document.resolveReference(reference) == nil, "\(reference)")
        }
    }
}
