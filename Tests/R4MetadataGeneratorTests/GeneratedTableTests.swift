import Foundation
import R4MetadataGenerator
import Testing

/// The committed type table must be exactly what the generator makes from the official definitions.
struct GeneratedTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let definitions = root.deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures/definitions/hl7.fhir.r4.core-4.0.1")

    @Test(
        "Generated/R4CoreDefinitions+Table.swift is current",
        .enabled(if: FileManager.default.fileExists(atPath: definitions.path), "../shared is absent: regeneration not checked")
    )
    func tableIsCurrent() throws {
        let generated = try R4MetadataGenerator(definitionsDirectory: Self.definitions).generateSwiftSource()
        let committed = try String(
            contentsOf: Self.root.appendingPathComponent("Sources/FHIRModel/Generated/R4CoreDefinitions+Table.swift"),
            encoding: .utf8)
        #expect(generated == committed, "run `swift run erx-codegen` and commit the result")
    }

    @Test(
        "profiles/core/r4-core-conformance.json is current",
        .enabled(if: FileManager.default.fileExists(atPath: definitions.path), "../shared is absent: regeneration not checked")
    )
    func conformanceIsCurrent() throws {
        let generated = try R4ConformanceGenerator(definitionsDirectory: Self.definitions).generate()
        let committed = try Data(contentsOf: Self.root.appendingPathComponent("profiles/core/r4-core-conformance.json"))
        #expect(generated == committed, "run `swift run erx-codegen` and commit the result")
    }
}
