import FHIRFormats
import FHIRModel
import Foundation

/// The three documents the codec is measured on, built from the repository's own fixtures.
struct Workload {
    var name: String
    var resource: Element
    var json: [UInt8]
    var xml: [UInt8]

    init(name: String, resource: Element) throws {
        self.name = name
        self.resource = resource
        json = try FHIRJSONWriter().write(resource)
        xml = try FHIRXMLWriter().write(resource)
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/codec")

    static func fixture(_ name: String) throws -> Element {
        try FHIRJSONReader().read(Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))).resource
    }

    static func all() throws -> [Workload] {
        let dispense = try fixture("medicationdispense-example.json")
        let medication = try fixture("medication-example.json")
        let rxDispensation = Element(name: "parameter", children: [
            Element(name: "name", value: "rxDispensation"),
            Element(name: "part", children: [
                Element(name: "name", value: "medicationDispense"),
                Element(name: "resource", children: [dispense]),
            ]),
            Element(name: "part", children: [
                Element(name: "name", value: "medication"),
                Element(name: "resource", children: [medication]),
            ]),
        ])
        let parameters = Element(name: "Parameters", children: [
            Element(name: "meta", children: [Element(name: "profile", value:
                "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_PAR_DispenseOperation_Input|1.4")]),
        ] + Array(repeating: rxDispensation, count: 3))

        var entries: [Element] = []
        for index in 0..<25 {
            for (resource, mode) in [(dispense, "match"), (medication, "include")] {
                var resource = resource
                resource.children[0].value = "\(resource.children[0].value!)-\(index)"
                entries.append(Element(name: "entry", children: [
                    Element(name: "fullUrl", value: "https://erx.example/\(resource.name)/\(resource.children[0].value!)"),
                    Element(name: "resource", children: [resource]),
                    Element(name: "search", children: [Element(name: "mode", value: mode)]),
                ]))
            }
        }
        let bundle = Element(name: "Bundle", children: [
            Element(name: "id", value: "b6a1d4a4-0c1e-4b2f-9a33-3d2d1f6c8e01"),
            Element(name: "type", value: "searchset"),
            Element(name: "total", value: "50"),
        ] + entries)
        return [
            try Workload(name: "MedicationDispense", resource: dispense),
            try Workload(name: "$dispense Parameters (3 rxDispensation)", resource: parameters),
            try Workload(name: "searchset Bundle (50 entries)", resource: bundle),
        ]
    }
}
