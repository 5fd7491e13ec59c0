import ErxProfiles
import FHIRFormats
import FHIRModel
import FHIRPath
@testable import FHIRValidation
import Foundation
import Testing

/// The Swift versions of core invariants agree with evaluating their FHIRPath on the same elements.
struct NativeInvariantTests {
    /// Each case: the invariant key, the focus element's path below the resource, and the resource.
    static let cases: [(key: String, focus: [String], json: String)] = [
        ("inv-1", ["parameter"], #"{"resourceType":"Parameters","parameter":[{"name":"a","valueString":"x"}]}"#),
        ("inv-1", ["parameter"], #"{"resourceType":"Parameters","parameter":[{"name":"a","part":[{"name":"b","valueString":"x"}]}]}"#),
        ("inv-1", ["parameter"], #"{"resourceType":"Parameters","parameter":[{"name":"a","valueString":"x","part":[{"name":"b","valueString":"x"}]}]}"#),
        ("inv-1", ["parameter"], #"{"resourceType":"Parameters","parameter":[{"name":"a"}]}"#),
        ("qty-3", ["quantity"], #"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":1,"code":"TAB"}}"#),
        ("qty-3", ["quantity"], #"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":1,"code":"TAB","system":"http://x"}}"#),
        ("qty-3", ["quantity"], #"{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":1}}"#),
        ("ref-1", ["subject"], ##"{"resourceType":"MedicationDispense","status":"completed","subject":{"reference":"#p"}}"##),
        ("ref-1", ["subject"], ##"{"resourceType":"MedicationDispense","contained":[{"resourceType":"Patient","id":"p"}],"status":"completed","subject":{"reference":"#p"}}"##),
        ("ref-1", ["subject"], ##"{"resourceType":"MedicationDispense","status":"completed","subject":{"reference":"#"}}"##),
        ("ref-1", ["subject"], #"{"resourceType":"MedicationDispense","status":"completed","subject":{"identifier":{"value":"X"}}}"#),
        ("ref-1", ["subject"], #"{"resourceType":"MedicationDispense","status":"completed","subject":{"reference":"Patient/1"}}"#),
        ("dom-2", [], #"{"resourceType":"MedicationDispense","contained":[{"resourceType":"Patient","id":"p"}],"status":"completed"}"#),
        ("dom-4", [], #"{"resourceType":"MedicationDispense","contained":[{"resourceType":"Patient","id":"p","meta":{"versionId":"1"}}],"status":"completed"}"#),
        ("dom-4", [], #"{"resourceType":"MedicationDispense","contained":[{"resourceType":"Patient","id":"p"}],"status":"completed"}"#),
        ("dom-5", [], #"{"resourceType":"MedicationDispense","contained":[{"resourceType":"Patient","id":"p","meta":{"security":[{"code":"R"}]}}],"status":"completed"}"#),
        ("dom-5", [], #"{"resourceType":"MedicationDispense","status":"completed"}"#),
    ]

    static let core: CompiledProfiles = CompiledProfiles(repository: try! ErxProfiles.repository())

    @Test(arguments: cases.indices) func nativeAgreesWithFHIRPath(_ index: Int) throws {
        let (key, focusPath, json) = Self.cases[index]
        let resource = try FHIRJSONReader().read(Array(json.utf8)).resource
        // The definition carrying the invariant: the resource root or the focus element's type.
        let typeName = focusPath.isEmpty ? resource.name
            : (R4CoreDefinitions.shared.type(named: resource.name)?.resolve(focusPath[0]).map { R4CoreDefinitions.shared.name(of: .init($0.type)) } ?? "")
        let profile = try #require(try Self.core.profile("http://hl7.org/fhir/StructureDefinition/\(typeName == "BackboneElement" ? resource.name : typeName)"))
        var node = profile.root
        if typeName == "BackboneElement" { node = try #require(node.child(named: focusPath[0])) }
        let entry = try #require(node.invariants.first { $0.invariant.key == key })
        guard case .native(let check, _) = entry.evaluation else {
            Issue.record("\(key) is not evaluated natively")
            return
        }
        let focus = focusPath.isEmpty ? resource : try #require(resource.child(focusPath[0]))
        let expression = try FHIRPathParser.parse(try #require(entry.invariant.expression))
        let definitions = R4CoreDefinitions.shared
        let type: FHIRPathItem.NodeType = focusPath.isEmpty ? .type(definitions.index(of: resource.name)!)
            : .init(try #require(definitions.type(named: resource.name)?.resolve(focusPath[0])).type)
        let items = try FHIRPathEvaluator().evaluate(expression, on: .node(focus, type), in: resource, rootResource: resource)
        let viaFHIRPath = try FHIRPathEvaluator.boolean(items) ?? false
        #expect(check(focus, resource) == viaFHIRPath, "\(key) on \(json)")
    }
}
