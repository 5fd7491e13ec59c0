import FHIRFormats
import FHIRModel
import Foundation
import Testing

/// The typed views read what the domain needs from trees that came through either format.
struct ResourceViewTests {
    static func fixture(_ name: String) throws -> Element {
        let bytes = try Locations.bytes(Locations.ownFixtures.appendingPathComponent("codec/\(name)"))
        return try FHIRFormat.sniff(bytes)!.read(bytes).resource
    }

    @Test(arguments: ["medicationdispense-example.json", "medicationdispense-example.xml"])
    func medicationDispense(_ file: String) throws {
        let dispense = try #require(MedicationDispenseView(try Self.fixture(file)))
        #expect(dispense.identifier(system: "https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId") == "160.000.100.000.001.05")
        #expect(dispense.subjectIdentifier == IdentifierValue(system: "http://fhir.de/sid/gkv/kvid-10", value: "X110411675"))
        #expect(dispense.performerIdentifiers.first?.value == "3-SMC-B-Testkarte-883110000095957")
        #expect(dispense.whenHandedOver == "2025-01-15")
        #expect(dispense.whenPrepared == "2025-01-14")
        #expect(dispense.quantityValue == "1.50")
        #expect(dispense.medicationReference == "urn:uuid:a5b1c2d3-0000-4000-8000-000000000001")
        #expect(dispense.profiles == ["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense|1.4"])
        #expect(MedicationView(dispense.element) == nil)
    }

    @Test func medication() throws {
        let medication = try #require(MedicationView(try Self.fixture("medication-example.xml")))
        #expect(medication.codings.first?.code == "06313728")
        #expect(medication.expirationDate == "2026-12-31")
        #expect(medication.lotNumber == "A123456789-1")
    }

    @Test func parametersAndBundle() throws {
        let dispense = try Self.fixture("medicationdispense-example.json")
        let parameters = try #require(ParametersView(try readJSON("""
            {"resourceType":"Parameters","parameter":[{"name":"rxDispensation","part":[
              {"name":"medicationDispense","resource":\(text(try FHIRJSONWriter().write(dispense)))},
              {"name":"note","valueString":"x"}]}]}
            """).resource))
        let rx = try #require(parameters.parameters(named: "rxDispensation").first)
        #expect(rx.part("medicationDispense")?.resource == dispense)
        #expect(rx.part("note")?.value?.value == "x")

        let bundle = try #require(BundleView(try readJSON("""
            {"resourceType":"Bundle","type":"searchset","total":1,"link":[{"relation":"next","url":"https://x/MedicationDispense?_count=1&page=2"}],
             "entry":[{"fullUrl":"https://x/MedicationDispense/a","resource":{"resourceType":"MedicationDispense","id":"a","status":"completed"},"search":{"mode":"match"}}]}
            """).resource))
        #expect(bundle.type == "searchset" && bundle.total == "1")
        #expect(bundle.nextLink == "https://x/MedicationDispense?_count=1&page=2")
        #expect(bundle.entries.first?.searchMode == "match")
        #expect(bundle.entries.first?.resource.flatMap(MedicationDispenseView.init)?.status == "completed")
    }

    @Test func task() throws {
        let task = try #require(TaskView(try readJSON("""
            {"resourceType":"Task","id":"160.000.100.000.001.05","status":"in-progress","intent":"order",
             "extension":[{"url":"https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_PrescriptionType",
                           "valueCoding":{"system":"https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType","code":"160"}}],
             "for":{"identifier":{"system":"http://fhir.de/sid/gkv/kvid-10","value":"X110411675"}}}
            """).resource))
        #expect(task.status == "in-progress")
        #expect(task.flowType == "160")
        #expect(task.forIdentifier?.value == "X110411675")
    }

    @Test func operationOutcomeRoundTripsThroughBothFormats() throws {
        let outcome = OperationOutcome(issues: [OperationOutcome.Issue(
            code: .forbidden, text: "Locked", detailCode: .init(system: "https://erx.example/cs", code: "locked"),
            expression: ["Task"], line: 3, column: 4)])
        for format in FHIRFormat.allCases {
            let read = try format.read(try format.write(outcome.element)).resource
            let back = try #require(OperationOutcome(read))
            #expect(back.issues.first?.code == .forbidden)
            #expect(back.issues.first?.detailCode?.code == "locked")
            #expect(back.issues.first?.expression == ["Task"])
        }
    }
}
