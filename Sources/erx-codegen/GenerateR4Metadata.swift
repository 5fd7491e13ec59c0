import ArgumentParser
import Foundation
import R4MetadataGenerator

/// Regenerates `Sources/FHIRModel/Generated/R4CoreDefinitions+Table.swift` from the official R4 definitions.
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

    func run() throws {
        let generator = R4MetadataGenerator(definitionsDirectory: URL(fileURLWithPath: definitions))
        let source = try generator.generateSwiftSource()
        try source.write(toFile: output, atomically: true, encoding: .utf8)
        print("wrote \(output) (\(source.utf8.count) bytes)")
    }
}
