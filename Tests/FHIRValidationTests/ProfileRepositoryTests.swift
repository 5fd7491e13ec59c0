import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// Canonical resolution with versions, precedence, and loading of the official packages.
struct ProfileRepositoryTests {
    static let definitions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures/definitions")

    static func definition(_ url: String, _ version: String?) throws -> Element {
        let versionMember = version.map { #","version":"\#($0)""# } ?? ""
        return try FHIRJSONReader().read(Array("""
            {"resourceType":"StructureDefinition","url":"\(url)"\(versionMember),"name":"X","status":"active",
             "kind":"resource","abstract":false,"type":"MedicationDispense"}
            """.utf8)).resource
    }

    @Test func resolvesExactThenComponentPrefixThenHighest() throws {
        var repository = ProfileRepository()
        for version in ["1.4", "1.6.1", "1.6.4", "1.10"] {
            repository.add(try Self.definition("https://example.org/SD/X", version), source: "v\(version)")
        }
        #expect(repository.structureDefinition("https://example.org/SD/X|1.4")?.version == "1.4")
        #expect(repository.structureDefinition("https://example.org/SD/X|1.6")?.version == "1.6.4")
        #expect(repository.structureDefinition("https://example.org/SD/X|1.1") == nil, "1.1 is not a prefix of 1.10")
        #expect(repository.structureDefinition("https://example.org/SD/X")?.version == "1.10")
        #expect(repository.structureDefinition("https://example.org/SD/X|1.5") == nil)
        #expect(repository.resolve("https://example.org/SD/X|1.4", type: "ValueSet") == nil)
    }

    @Test func laterSourcesTakePrecedence() throws {
        var repository = ProfileRepository()
        repository.add(try Self.definition("https://example.org/SD/Y", "1.0"), source: "ours")
        repository.add(try Self.definition("https://example.org/SD/Y", "1.0"), source: "official")
        #expect(repository.structureDefinition("https://example.org/SD/Y|1.0")?.source == "official")
        #expect(repository.count == 1)
    }

    @Test func namingSystemsAreFoundByTheirURI() throws {
        var repository = ProfileRepository()
        repository.add(try FHIRJSONReader().read(Array("""
            {"resourceType":"NamingSystem","name":"KVID10","status":"active","kind":"identifier","date":"2024",
             "uniqueId":[{"type":"uri","value":"http://fhir.de/sid/gkv/kvid-10"},{"type":"oid","value":"1.2.276.0.76.4.8"}]}
            """.utf8)).resource, source: "test")
        #expect(repository.resolve("http://fhir.de/sid/gkv/kvid-10")?.resourceType == "NamingSystem")
        #expect(repository.resolve("1.2.276.0.76.4.8") == nil)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: definitions.path), "../shared is absent: package loading not checked"))
    func loadsEveryOfficialPackage() throws {
        var repository = ProfileRepository()
        let packages = try FileManager.default.contentsOfDirectory(atPath: Self.definitions.path).sorted()
        for package in packages { try repository.load(directory: Self.definitions.appendingPathComponent(package)) }
        let problems = repository.problems.prefix(5).map(\.text)
        #expect(problems.isEmpty, "\(problems)")
        #expect(repository.count > 3_500)
        let dispense = "https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_MedicationDispense"
        #expect(repository.structureDefinition("\(dispense)|1.4")?.source.contains("erezept-workflow.r4-1.4.3") == true)
        #expect(repository.structureDefinition("\(dispense)|1.5")?.source.contains("erezept-workflow.r4-1.5.2") == true)
        #expect(repository.structureDefinition("\(dispense)|1.6")?.version?.hasPrefix("1.6") == true)
        #expect(repository.structureDefinition("https://fhir.kbv.de/StructureDefinition/KBV_PR_ERP_Medication_PZN|1.1.0")?
            .source.contains("kbv.ita.erp-1.1.2") == true)
        #expect(repository.structureDefinition("http://hl7.org/fhir/StructureDefinition/MedicationDispense")?.version == "4.0.1")
        #expect(repository.resolve("http://fhir.de/sid/gkv/kvid-10")?.resourceType == "NamingSystem")
    }
}

extension ProfileRepositoryTests {
    @Test func higherPrecedenceWinsWhateverTheVersion() throws {
        var repository = ProfileRepository()
        repository.add(try Self.definition("https://example.org/SD/Z", "1.6"), source: "ours", precedence: 1)
        repository.add(try Self.definition("https://example.org/SD/Z", "1.6.4"), source: "official", precedence: 2)
        repository.add(try Self.definition("https://example.org/SD/W", "1.6"), source: "ours", precedence: 1)
        #expect(repository.structureDefinition("https://example.org/SD/Z|1.6")?.source == "official", "exact '1.6' of ours loses")
        #expect(repository.structureDefinition("https://example.org/SD/W|1.6")?.source == "ours", "ours where nothing overrides")
    }

    @Test func packagesOfTheContextWin() throws {
        var repository = ProfileRepository()
        repository.add(try Self.definition("https://example.org/SD/V", "1.0.3"), source: "old", package: "p#1.0.3")
        repository.add(try Self.definition("https://example.org/SD/V", "1.3.4"), source: "new", package: "p#1.3.4")
        #expect(repository.structureDefinition("https://example.org/SD/V")?.source == "new")
        #expect(repository.structureDefinition("https://example.org/SD/V", preferring: ["p#1.0.3"])?.source == "old")
    }
}
