import ArgumentParser
import Foundation
import R4MetadataGenerator

/// Regenerates `Sources/FHIRModel/Generated/R4CoreDefinitions+Table.swift` (the type table) and
/// `profiles/core/r4-core-conformance.json` (the reduced core definitions the validator needs) from the
/// official R4 definitions.
@main
struct GenerateR4Metadata: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erx-codegen",
        abstract: "Generate the FHIR R4 type table from the official StructureDefinitions."
    )

    @Option(help: "The hl7.fhir.r4.core package directory.")
    var definitions = "../shared/fixtures/definitions/hl7.fhir.r4.core-4.0.1"

    @Option(help: "Where to write the generated Swift file.")
    var output = "Sources/FHIRModel/Generated/R4CoreDefinitions+Table.swift"

    @Option(help: "Where to write the reduced core conformance resources.")
    var conformanceOutput = "profiles/core/r4-core-conformance.json"

    func run() throws {
        let directory = URL(fileURLWithPath: definitions)
        let source = try R4MetadataGenerator(definitionsDirectory: directory).generateSwiftSource()
        try source.write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output) (\(source.utf8.count) bytes)")
        let conformance = try R4ConformanceGenerator(definitionsDirectory: directory).generate()
        try conformance.write(to: URL(fileURLWithPath: conformanceOutput))
        print("wrote \(conformanceOutput) (\(conformance.count) bytes)")
    }
}
