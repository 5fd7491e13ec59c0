import FHIRModel
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RegistrySimulator
import Testing

@Suite struct TransferTests {
    @Test(arguments: [
        ("provide-dispensation-erp", Payload.provideDispensation("160.000.000.000.001.05"), "rxDispensation"),
        ("cancel-dispensation-erp", Payload.cancelDispensation("160.000.000.000.001.05"), "rxDispensation"),
        ("provide-prescription-erp", Payload.providePrescription("160.000.000.000.001.05"), "rxPrescription"),
        ("cancel-prescription-erp", Payload.cancelPrescription("160.000.000.000.001.05"), "rxPrescription"),
    ])
    func answersSuccess(_ operation: String, _ body: Element, _ parameterName: String) async throws {
        try await withSimulator { client in
            let response = try await client.transfer(operation, try Payload.json(body))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/fhir+json")
            let answer = try response.resource()
            #expect(answer.name == "Parameters")
            let parameter = try #require(answer.child("parameter"))
            #expect(parameter.value(of: "name") == parameterName)
            let parts = parameter.children(named: "part")
            #expect(parts.map { $0.value(of: "name") } == ["prescriptionId", "operationOutcome"])
            #expect(parts[0].descendant("valueIdentifier", "value")?.value == "160.000.000.000.001.05")
            #expect(parts[0].descendant("valueIdentifier", "system")?.value == prescriptionIdSystem)
            let outcome = try #require(parts[1].child("resource")?.wrappedResource)
            #expect(outcome.name == "OperationOutcome")
            #expect(outcome.descendant("issue", "severity")?.value == "information")
            #expect(outcome.descendant("issue", "code")?.value == "informational")
            #expect(outcome.descendant("issue", "details", "coding", "system")?.value == outcomeDetailsSystem)
            #expect(outcome.descendant("issue", "details", "coding", "code")?.value == "MEDSVC_OPERATION_SUCCESS")
        }
    }

    @Test func recordsInArrivalOrderWithEveryField() async throws {
        try await withSimulator { client in
            let before = Date()
            _ = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription("160.000.000.000.001.05")), key: "k1")
            _ = try await client.transfer("provide-dispensation-erp", try Payload.json(Payload.provideDispensation("160.000.000.000.001.05", status: "in-progress")), key: "k2")
            _ = try await client.transfer("cancel-dispensation-erp", try Payload.json(Payload.cancelDispensation("160.000.000.000.001.05")), key: "k3")
            _ = try await client.transfer("cancel-prescription-erp", try Payload.json(Payload.cancelPrescription("160.000.000.000.001.05")), kvnr: "Y987654321", key: "k4")
            let received = try await client.received()
            #expect(received.map(\.operation) == ["provide-prescription-erp", "provide-dispensation-erp", "cancel-dispensation-erp", "cancel-prescription-erp"])
            #expect(received.map(\.status) == [nil, "in-progress", nil, nil])
            #expect(received.map(\.idempotencyKey) == ["k1", "k2", "k3", "k4"])
            #expect(received.map(\.kvnr) == [kvnr, kvnr, kvnr, "Y987654321"])
            #expect(received.allSatisfy { $0.prescriptionId == "160.000.000.000.001.05" })
            for transfer in received {
                let date = try Date(transfer.receivedAt, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
                #expect(date >= before.addingTimeInterval(-0.001))
                #expect(transfer.receivedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
            }
        }
    }

    @Test func receivedListsStatusAsExplicitNull() async throws {
        try await withSimulator { client in
            _ = try await client.transfer("cancel-dispensation-erp", try Payload.json(Payload.cancelDispensation("160.000.000.000.001.05")), key: "k1")
            let text = try await client.execute(uri: "/_sim/received", method: .get).text
            #expect(text.contains(#""status":null"#))
            let object = try #require((try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])?.first)
            #expect(Set(object.keys) == ["operation", "kvnr", "prescriptionId", "status", "idempotencyKey", "receivedAt"])
        }
    }

    @Test func replayedKeyAnswersSuccessButIsRecordedOnce() async throws {
        let state = SimulatorState()
        try await withSimulator(state) { client in
            let body = try Payload.json(Payload.provideDispensation("160.000.000.000.001.05", dispenses: 2))
            let first = try await client.transfer("provide-dispensation-erp", body, key: "retry-1")
            let second = try await client.transfer("provide-dispensation-erp", body, key: "retry-1")
            #expect(first.status == .ok)
            #expect(second.status == .ok)
            #expect(first.text == second.text)
            #expect(try await client.received().count == 1)
            // A replay with other content is not applied either.
            let changed = try Payload.json(Payload.provideDispensation("160.000.000.000.001.05", status: "in-progress"))
            #expect(try await client.transfer("provide-dispensation-erp", changed, key: "retry-1").status == .ok)
            #expect(await state.entry(for: "160.000.000.000.001.05")?.dispensation == .init(status: "completed", dispenseCount: 2))
        }
    }

    @Test func concurrentIdenticalRequestsAreRecordedOnce() async throws {
        try await withSimulator { client in
            let body = try Payload.json(Payload.provideDispensation("160.000.000.000.001.05"))
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await client.transfer("provide-dispensation-erp", body, key: "same-key").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: .ok, count: 8))
            #expect(try await client.received().count == 1)
        }
    }

    @Test func appliesTheEPASemantics() async throws {
        let state = SimulatorState()
        let id = "160.000.000.000.001.05"
        try await withSimulator(state) { client in
            // Out of order: a dispensation before its prescription is still applied.
            _ = try await client.transfer("provide-dispensation-erp", try Payload.json(Payload.provideDispensation(id, status: "in-progress")))
            #expect(await state.entry(for: id) == RegistryEntry(prescription: nil, dispensation: .init(status: "in-progress", dispenseCount: 1)))
            _ = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription(id)))
            _ = try await client.transfer("provide-dispensation-erp", try Payload.json(Payload.provideDispensation(id, status: "completed", dispenses: 3)))
            #expect(await state.entry(for: id) == RegistryEntry(prescription: .active, dispensation: .init(status: "completed", dispenseCount: 3)))
            _ = try await client.transfer("cancel-dispensation-erp", try Payload.json(Payload.cancelDispensation(id)))
            #expect(await state.entry(for: id) == RegistryEntry(prescription: .active, dispensation: nil))
            _ = try await client.transfer("cancel-prescription-erp", try Payload.json(Payload.cancelPrescription(id)))
            #expect(await state.entry(for: id) == RegistryEntry(prescription: .cancelled, dispensation: nil))
        }
    }

    @Test func deleteClearsReceivedAndAppliedState() async throws {
        let state = SimulatorState()
        try await withSimulator(state) { client in
            let body = try Payload.json(Payload.providePrescription("160.000.000.000.001.05"))
            _ = try await client.transfer("provide-prescription-erp", body, key: "k1")
            #expect(try await client.execute(uri: "/_sim/received", method: .delete).status == .noContent)
            #expect(try await client.received().isEmpty)
            #expect(await state.entry(for: "160.000.000.000.001.05") == nil)
            // The key is forgotten too: the same transfer is applied again.
            _ = try await client.transfer("provide-prescription-erp", body, key: "k1")
            #expect(try await client.received().count == 1)
        }
    }

    @Test func missingHeadersAnswer400() async throws {
        try await withSimulator { client in
            let body = try Payload.json(Payload.providePrescription("160.000.000.000.001.05"))
            for response in [
                try await client.transfer("provide-prescription-erp", body, kvnr: nil),
                try await client.transfer("provide-prescription-erp", body, kvnr: "not-a-kvnr"),
                try await client.transfer("provide-prescription-erp", body, key: nil),
                try await client.transfer("provide-prescription-erp", body, key: ""),
            ] {
                #expect(response.status == .badRequest)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text.hasPrefix(#"{"errorCode":"malformedRequest","errorDetail":"#))
            }
            #expect(try await client.received().isEmpty)
        }
    }

    static let malformedBodies: [(String, String)] = {
        let id = "160.000.000.000.001.05"
        func without(_ name: String, in parameters: Element) -> Element { Payload.without(name, in: parameters) }
        func json(_ element: Element) -> String { String(buffer: try! Payload.json(element)) }
        return [
            ("provide-dispensation-erp", "not json"),
            ("provide-dispensation-erp", "{}"),
            ("provide-dispensation-erp", #"{"resourceType":"Patient"}"#),
            ("provide-dispensation-erp", json(Payload.providePrescription(id))),
            ("provide-dispensation-erp", json(without("prescriptionId", in: Payload.provideDispensation(id)))),
            ("provide-dispensation-erp", json(without("authoredOn", in: Payload.provideDispensation(id)))),
            ("provide-dispensation-erp", json(without("medicationDispense", in: Payload.provideDispensation(id)))),
            ("provide-dispensation-erp", json(without("status", in: Payload.provideDispensation(id)))),
            ("provide-dispensation-erp", json(Payload.provideDispensation(id, status: "declined"))),
            ("cancel-dispensation-erp", json(without("authoredOn", in: Payload.cancelDispensation(id)))),
            ("provide-prescription-erp", json(without("prescriptionId", in: Payload.providePrescription(id)))),
            ("cancel-prescription-erp", json(without("authoredOn", in: Payload.cancelPrescription(id)))),
        ]
    }()

    @Test(arguments: malformedBodies)
    func malformedBodyAnswers400WithAnOperationOutcome(_ operation: String, _ body: String) async throws {
        try await withSimulator { client in
            let response = try await client.transfer(operation, ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/fhir+json")
            let outcome = try response.resource()
            #expect(outcome.name == "OperationOutcome")
            #expect(outcome.descendant("issue", "code")?.value == "invalid")
            #expect(outcome.descendant("issue", "details", "coding", "system")?.value == outcomeDetailsSystem)
            #expect(outcome.descendant("issue", "details", "coding", "code")?.value == "MSG_BAD_FORMAT")
            #expect(try await client.received().isEmpty)
        }
    }

    @Test func refusesABodyOverFourMiB() async throws {
        try await withSimulator { client in
            let body = ByteBuffer(repeating: UInt8(ascii: " "), count: RegistrySimulator.maximumBodySize + 1)
            let response = try await client.transfer("provide-dispensation-erp", body)
            #expect(response.status == .contentTooLarge)
            #expect(response.text.hasPrefix(#"{"errorCode":"malformedRequest""#))
        }
    }

    /// Several of one insurant's transfers in one call (A_25956): one parameter and one key each,
    /// applied and recorded in order, each once.
    @Test func oneCallCarriesSeveralTransfersEachAppliedOnceInOrder() async throws {
        let first = Payload.provideDispensation("160.000.000.000.001.37", status: "in-progress")
        let second = Payload.provideDispensation("160.000.000.000.002.34")
        let call = Element(name: "Parameters", children: first.children + second.children)
        try await withSimulator { client in
            let response = try await client.transfer("provide-dispensation-erp", try Payload.json(call), key: "k1, k2")
            #expect(response.status == .ok)
            let answer = try response.resource()
            #expect(answer.children(named: "parameter").map { $0.children(named: "part").first?.descendant("valueIdentifier", "value")?.value }
                == ["160.000.000.000.001.37", "160.000.000.000.002.34"])
            var received = try await client.received()
            #expect(received.map(\.idempotencyKey) == ["k1", "k2"])
            #expect(received.map(\.prescriptionId) == ["160.000.000.000.001.37", "160.000.000.000.002.34"])
            #expect(received.map(\.status) == ["in-progress", "completed"])
            // Replayed whole, and with one of them new: only the new one is applied.
            #expect(try await client.transfer("provide-dispensation-erp", try Payload.json(call), key: "k1, k2").status == .ok)
            #expect(try await client.transfer("provide-dispensation-erp", try Payload.json(call), key: "k2, k3").status == .ok)
            received = try await client.received()
            #expect(received.map(\.idempotencyKey) == ["k1", "k2", "k3"])
        }
    }

    @Test func aCallWhoseKeysDoNotMatchItsParametersOrWithOneBadParameterAppliesNothing() async throws {
        let good = Payload.provideDispensation("160.000.000.000.001.37")
        let bad = Payload.without("status", in: Payload.provideDispensation("160.000.000.000.002.34"))
        try await withSimulator { client in
            let two = Element(name: "Parameters", children: good.children + good.children)
            #expect(try await client.transfer("provide-dispensation-erp", try Payload.json(two), key: "k1").status == .badRequest)
            #expect(try await client.transfer("provide-dispensation-erp", try Payload.json(two), key: "k1, ").status == .badRequest)
            #expect(try await client.transfer("provide-dispensation-erp", try Payload.json(two), key: "k1, k1").status == .badRequest)
            let mixed = Element(name: "Parameters", children: good.children + bad.children)
            let refused = try await client.transfer("provide-dispensation-erp", try Payload.json(mixed), key: "k1, k2")
            #expect(refused.status == .badRequest)
            #expect(try refused.resource().descendant("issue", "expression")?.value == "Parameters.parameter[1].part")
            #expect(try await client.received().isEmpty)
        }
    }
}
