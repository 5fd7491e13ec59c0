import FHIRModel
import HTTPTypes
import HummingbirdTesting
import RegistrySimulator
import Testing

@Suite struct FaultTests {
    @Test func lockedAnswers423() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"locked":["\#(kvnr)"]}"#)
            let response = try await client.transfer("provide-dispensation-erp", try Payload.json(Payload.provideDispensation("160.000.000.000.001.05")))
            #expect(response.status.code == 423)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.text == #"{"errorCode":"locked"}"#)
            // Another insurant is not affected.
            let other = try await client.transfer("provide-dispensation-erp", try Payload.json(Payload.provideDispensation("160.000.000.000.002.02")), kvnr: "Y987654321")
            #expect(other.status == .ok)
        }
    }

    @Test func conflictAnswers409() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"conflict":["\#(kvnr)"]}"#)
            let response = try await client.transfer("cancel-prescription-erp", try Payload.json(Payload.cancelPrescription("160.000.000.000.001.05")))
            #expect(response.status == .conflict)
            #expect(response.text == #"{"errorCode":"statusMismatch"}"#)
        }
    }

    @Test func downAnswers503ForTransfers() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"down":true}"#)
            let response = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription("160.000.000.000.001.05")))
            #expect(response.status == .serviceUnavailable)
            #expect(response.text == #"{"errorCode":"serviceUnavailable"}"#)
            #expect(try await client.received().isEmpty)
        }
    }

    @Test func errorRateOneAlwaysFails() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"errorRate":1.0}"#)
            for _ in 0..<10 {
                let response = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription("160.000.000.000.001.05")))
                #expect(response.status == .internalServerError)
                #expect(response.text == #"{"errorCode":"internalError"}"#)
            }
            #expect(try await client.received().isEmpty)
        }
    }

    @Test func errorRateZeroNeverFails() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"errorRate":0}"#)
            for _ in 0..<30 {
                let response = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription("160.000.000.000.001.05")))
                #expect(response.status == .ok)
            }
            #expect(try await client.received().count == 30)
        }
    }

    @Test func latencyDelaysEveryRegistryAnswer() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"latencyMs":100}"#)
            let clock = ContinuousClock()
            let consentStart = clock.now
            #expect(try await client.consent(kvnr: kvnr).status == .ok)
            #expect(clock.now - consentStart >= .milliseconds(100))
            let transferStart = clock.now
            let response = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription("160.000.000.000.001.05")))
            #expect(response.status == .ok)
            #expect(clock.now - transferStart >= .milliseconds(100))
        }
    }

    @Test func emptyObjectClearsAllFaults() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"deny":["\#(kvnr)"],"locked":["\#(kvnr)"],"conflict":["\#(kvnr)"],"errorRate":1,"latencyMs":5,"down":true}"#)
            let cleared = try await client.setFaults("{}")
            #expect(cleared.status == .ok)
            #expect(try cleared.decoded(Faults.self) == Faults())
            #expect(try await client.consent(kvnr: kvnr).text.contains(#""decision":"permit""#))
            let response = try await client.transfer("provide-prescription-erp", try Payload.json(Payload.providePrescription("160.000.000.000.001.05")))
            #expect(response.status == .ok)
        }
    }

    @Test func settingFaultsReplacesThemAndAnswersTheSettingsInForce() async throws {
        let state = SimulatorState()
        try await withSimulator(state) { client in
            try await client.setFaults(#"{"locked":["\#(kvnr)"],"latencyMs":0}"#)
            let response = try await client.setFaults(#"{"conflict":["Y987654321"],"errorRate":0.25}"#)
            let expected = Faults(conflict: ["Y987654321"], errorRate: 0.25)
            #expect(try response.decoded(Faults.self) == expected)
            #expect(try await client.execute(uri: "/_sim/faults", method: .get).decoded(Faults.self) == expected)
            #expect(await state.faults() == expected)
        }
    }

    @Test(arguments: [
        "", "not json", "[]", #"{"errorRate":1.5}"#, #"{"errorRate":-0.1}"#, #"{"latencyMs":-1}"#, #"{"latencyMs":1.5}"#,
        #"{"down":"yes"}"#, #"{"deny":"X123456789"}"#,
    ])
    func refusesInvalidSettings(_ body: String) async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"errorRate":0.5}"#)
            let response = try await client.setFaults(body)
            #expect(response.status == .badRequest)
            #expect(response.text.hasPrefix(#"{"errorCode":"malformedRequest""#))
            // The settings in force are unchanged.
            #expect(try await client.execute(uri: "/_sim/faults", method: .get).decoded(Faults.self) == Faults(errorRate: 0.5))
        }
    }

    @Test func controlAPIWorksWhileDown() async throws {
        try await withSimulator { client in
            try await client.setFaults(#"{"down":true,"latencyMs":30000}"#)
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await client.execute(uri: "/_sim/faults", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/_sim/received", method: .get).text == "[]")
            #expect(try await client.execute(uri: "/_sim/received", method: .delete).status == .noContent)
            // No latency either: 30 s per request would show (the bound leaves room for a loaded
            // machine running the other suites beside this one).
            #expect(clock.now - start < .seconds(20))
            #expect(try await client.setFaults("{}").status == .ok)
            #expect(try await client.consent(kvnr: kvnr).status == .ok)
        }
    }

    @Test func unknownPathsAnswerNotFound() async throws {
        try await withSimulator { client in
            let response = try await client.execute(uri: "/epa/medication/api/v1/fhir/$nothing", method: .post)
            #expect(response.status == .notFound)
            #expect(response.text == #"{"errorCode":"notFound"}"#)
            #expect(try await client.execute(uri: "/_sim/nothing", method: .get).text == #"{"errorCode":"notFound"}"#)
        }
    }
}
