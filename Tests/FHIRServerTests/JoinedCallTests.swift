import FHIRFormats
import FHIRModel
import Foundation
@testable import RegistryClient
import Testing

/// Joining stored payloads into one call (A_25956), and reading a joined call's answer.
struct JoinedCallTests {
    static let profile = "https://gematik.de/fhir/epa-medication/StructureDefinition/epa-op-provide-dispensation-erp-input-parameters"

    /// A stored payload as the outbox holds it: our compact JSON of an input Parameters.
    static func payload(_ id: String, profile: String = profile, note: String = "plain") throws -> [UInt8] {
        try FHIRFormat.json.write(Element(name: "Parameters", children: [
            Element(name: "meta", children: [Element(name: "profile", value: profile)]),
            Element(name: "parameter", children: [
                Element(name: "name", value: "rxDispensation"),
                Element(name: "part", children: [Element(name: "name", value: "prescriptionId"), Element(name: "valueString", value: id)]),
                Element(name: "part", children: [Element(name: "name", value: "note"), Element(name: "valueString", value: note)]),
            ]),
        ]))
    }

    @Test func joinsParametersInOrderAndReadsBackAsOneParameters() throws {
        // Brackets, quotes and the member name itself inside strings must not confuse the join.
        let tricky = #"a ] } "parameter":[ \ end"#
        let payloads = [try Self.payload("one"), try Self.payload("two", note: tricky), try Self.payload("three")]
        let joined = try #require(CombinedPayload.join(payloads))
        let resource = try FHIRFormat.json.read(joined).resource
        let parameters = resource.children(named: "parameter")
        #expect(parameters.count == 3)
        #expect(parameters.map { $0.children(named: "part")[0].value(of: "valueString") } == ["one", "two", "three"])
        #expect(parameters[1].children(named: "part")[1].value(of: "valueString") == tricky)
        #expect(resource.descendant("meta", "profile")?.value == Self.profile)
        for (index, payload) in payloads.enumerated() {
            #expect(try FHIRFormat.json.read(payload).resource.child("parameter") == parameters[index])
        }
    }

    @Test func refusesWhatItCannotJoinSafely() throws {
        let one = try Self.payload("one")
        // Another operation's head.
        #expect(CombinedPayload.join([one, try Self.payload("two", profile: Self.profile + "-other")]) == nil)
        // A member after the parameter array would land inside the joined array.
        let trailing = Array(#"{"resourceType":"Parameters","parameter":[{"name":"rxDispensation"}],"id":"x"}"#.utf8)
        let trailingHead = Array(#"{"resourceType":"Parameters","parameter":[{"name":"rxDispensation"}]}"#.utf8)
        #expect(CombinedPayload.join([trailingHead, trailing]) == nil)
        let trailingArray = Array(#"{"resourceType":"Parameters","parameter":[{"name":"a"}],"x":[1]}"#.utf8)
        #expect(CombinedPayload.join([trailingArray, trailingArray]) == nil)
        // No parameter array, or an empty one.
        #expect(CombinedPayload.join([Array(#"{"resourceType":"Parameters"}"#.utf8), one]) == nil)
        #expect(CombinedPayload.join([Array(#"{"resourceType":"Parameters","parameter":[]}"#.utf8), one]) == nil)
        #expect(CombinedPayload.join([]) == nil)
    }

    static func answer(_ severities: [String]) -> [UInt8] {
        let parameters = severities.map { severity in
            #"{"name":"rxDispensation","part":[{"name":"operationOutcome","resource":{"resourceType":"OperationOutcome","issue":[{"severity":"\#(severity)","code":"informational"}]}}]}"#
        }
        return Array(#"{"resourceType":"Parameters","parameter":[\#(parameters.joined(separator: ","))]}"#.utf8)
    }

    @Test func aJoinedCallsAnswerMustConfirmEachTransfer() {
        #expect(RegistryHTTPClient.confirmsEach(of: 2, Self.answer(["information", "warning"])))
        #expect(!RegistryHTTPClient.confirmsEach(of: 3, Self.answer(["information", "information"])))
        #expect(!RegistryHTTPClient.confirmsEach(of: 2, Self.answer(["information", "error"])))
        #expect(!RegistryHTTPClient.confirmsEach(of: 2, Array("{}".utf8)))
    }
}
