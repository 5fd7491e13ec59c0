import Dispensing
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import RegistryClient
import RegistrySimulator
import SQLiteStore
import Testing

/// ARCHITECTURE decision 5: `$dispense` for an insurant who objected answers 423 and stores nothing,
/// whichever of the three sources the objection came from.
@Suite(.serialized)
struct ObjectionTests {
    /// The 423 answer: `forbidden`, detail `locked`, and nothing personal in the text.
    static func expectLocked(_ reply: Reply, kvnr: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(reply.status.code == 423, sourceLocation: sourceLocation)
        let issue = try reply.resource().child("issue")
        #expect(issue?.value(of: "code") == "forbidden", sourceLocation: sourceLocation)
        #expect(issue?.descendant("details", "coding")?.value(of: "code") == "locked", sourceLocation: sourceLocation)
        #expect(!String(decoding: reply.bytes, as: UTF8.self).contains(kvnr), sourceLocation: sourceLocation)
    }

    /// Nothing of the refused `$dispense` was stored: no set, no audit entry, no transfer.
    static func expectNothingStored(_ harness: RelayHarness, _ task: RelayHarness.InProgress) async throws {
        let id = try #require(PrescriptionID(task.id))
        #expect(try await harness.server.store.dueTransfers(now: Date().addingTimeInterval(86_400 * 2), limit: 1000)
            .filter { $0.prescriptionID == id && $0.operation == .provideDispensation }.isEmpty)
        #expect(try await harness.server.store.dispensations(of: id).isEmpty)
        #expect(try await harness.server.store.task(id)?.lastMedicationDispense == nil)
        #expect(try await !harness.server.store.auditTrail(of: id).contains { $0.action == .dispense })
    }

    /// A budget far above a loopback lookup, so a busy machine cannot turn the deny into a 204.
    static let patientBudget: Duration = .seconds(5)

    @Test func aDenyFromTheRegistrysConsentDecisionsLocksDispense() async throws {
        try await RelayHarness.run(configure: { $0.consentTTL = .milliseconds(100); $0.lookupBudget = Self.patientBudget }) { harness in
            let kvnr = testKVNR(500)
            let task = try await harness.inProgressTask(kvnr: kvnr)
            try await harness.drained()
            await harness.simulator.setFaults(Faults(deny: [kvnr]))
            // The activation looked the insurant up already; a fresh decision comes after the TTL.
            try await Self.expectLockedAfterTTL(harness, task)
        }
    }

    static func expectLockedAfterTTL(_ harness: RelayHarness, _ task: RelayHarness.InProgress) async throws {
        try await Task.sleep(for: .milliseconds(150))
        let reply = try await harness.dispense(task)
        try Self.expectLocked(reply, kvnr: task.kvnr)
        try await Self.expectNothingStored(harness, task)
        let objections = try await harness.server.store.objections(of: try #require(KVNR(task.kvnr)))
        #expect(Set(objections.map(\.source)) == [.consentDecision])
        #expect(Set(objections.map(\.category)) == Set(ObjectionCategory.allCases))
    }

    @Test func aLaterPermitLiftsTheRegistrysObjection() async throws {
        try await RelayHarness.run(configure: { $0.consentTTL = .milliseconds(100); $0.lookupBudget = Self.patientBudget }) { harness in
            let kvnr = testKVNR(501)
            await harness.simulator.setFaults(Faults(deny: [kvnr]))
            let task = try await harness.inProgressTask(kvnr: kvnr)
            try Self.expectLocked(try await harness.dispense(task), kvnr: kvnr)
            try await harness.drained()
            await harness.simulator.setFaults(Faults())
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await harness.dispense(task).status == .noContent)
            try await harness.drained()
            // The activation was made while objected: only the dispensation goes out.
            #expect(await harness.received().map(\.operation) == ["provide-dispensation-erp"])
        }
    }

    @Test func theInsurantsOwnConsentLocksDispenseUntilWithdrawn() async throws {
        try await RelayHarness.run { harness in
            let kvnr = testKVNR(502)
            let task = try await harness.inProgressTask(kvnr: kvnr)
            try await harness.drained()
            let insurant = try await harness.server.token(.insurant, id: kvnr)
            let posted = try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: kvnr, category: "erp-submission"))
            #expect(posted.status == .created)
            #expect(try posted.resource().descendant("category", "coding")?.value(of: "code") == "erp-submission")
            #expect(try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: kvnr, category: "erp-submission")).status == .conflict)
            try Self.expectLocked(try await harness.dispense(task), kvnr: kvnr)
            try await Self.expectNothingStored(harness, task)
            let listed = try await harness.client.send(.get, "/Consent", token: insurant)
            #expect(try listed.resource().value(of: "total") == "1")

            // $close is never blocked; nothing about the insurant goes to the registry meanwhile.
            #expect(try await harness.client.send(.delete, "/Consent?category=erp-submission", token: insurant).status == .noContent)
            #expect(try await harness.client.send(.delete, "/Consent?category=erp-submission", token: insurant).status == .notFound)
            #expect(try await harness.dispense(task).status == .noContent)
            try await harness.drained()
            _ = try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: kvnr, category: "medication"))
            #expect(try await harness.close(task).status == .ok)
            try await harness.drained()
            #expect(await harness.received().map(\.status) == [nil, "in-progress"])
        }
    }

    /// Issue 20, item 5: `--objection-response fd` answers as the production service: 204, the set
    /// stored, and nothing about the insurant sent to the registry (A_25951-01); the
    /// CapabilityStatement then declares no 423.
    @Test func theFDObjectionResponseStoresAndSendsNothing() async throws {
        try await RelayHarness.run(objectionResponse: .fd) { harness in
            let kvnr = testKVNR(503)
            let task = try await harness.inProgressTask(kvnr: kvnr)
            try await harness.drained()
            let insurant = try await harness.server.token(.insurant, id: kvnr)
            #expect(try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: kvnr, category: "erp-submission")).status == .created)
            let reply = try await harness.dispense(task)
            #expect(reply.status == .noContent)
            let id = try #require(PrescriptionID(task.id))
            #expect(try await harness.server.store.dispensations(of: id).count == 1)
            #expect(try await harness.server.store.auditTrail(of: id).contains { $0.action == .dispense })
            try await harness.drained()
            #expect(await harness.received().map(\.operation) == ["provide-prescription-erp"])
            let metadata = try await harness.client.send(.get, "/metadata", token: nil)
            #expect(!String(decoding: metadata.bytes, as: UTF8.self).contains("extension-http-response-info"))
        }
    }

    @Test func aConsentForSomebodyElseOrWithoutCategoryIsRefused() async throws {
        try await RelayHarness.run(relay: false) { harness in
            let insurant = try await harness.server.token(.insurant, id: testKVNR(503))
            let other = try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: testKVNR(504), category: "medication"))
            #expect(other.status == .forbidden)
            #expect(try other.issueExpression() == "Consent.patient.identifier")
            let unknown = try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: testKVNR(503), category: "everything"))
            #expect(unknown.status == .badRequest)
            #expect(try unknown.issueExpression() == "Consent.category[0].coding[0].code")
            let pharmacy = try await harness.server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
            #expect(try await harness.client.send(.post, "/Consent", token: pharmacy, body: Self.consent(kvnr: testKVNR(503), category: "medication")).status == .forbidden)
            #expect(try await harness.client.send(.delete, "/Consent?category=nonsense", token: insurant).status == .badRequest)
        }
    }

    @Test func a423FromTheRegistryDropsTheQueueAndLocksTheNextDispense() async throws {
        try await RelayHarness.run { harness in
            let kvnr = testKVNR(505)
            await harness.simulator.setFaults(Faults(down: true))
            let task = try await harness.inProgressTask(kvnr: kvnr)
            for _ in 0..<3 { #expect(try await harness.dispense(task).status == .noContent) }
            await harness.simulator.setFaults(Faults(locked: [kvnr]))
            try await harness.drained()
            #expect(await harness.received().isEmpty)
            let objections = try await harness.server.store.objections(of: try #require(KVNR(kvnr)))
            #expect(objections.map(\.source) == [.registryLocked])
            let before = try await harness.server.store.dispensations(of: try #require(PrescriptionID(task.id)))
            try Self.expectLocked(try await harness.dispense(task), kvnr: kvnr)
            #expect(try await harness.server.store.dispensations(of: try #require(PrescriptionID(task.id))) == before)
            #expect(try await harness.server.store.outboxStatistics().pending == 0)
        }
    }

    @Test func anActivationForAnObjectedInsurantQueuesNothing() async throws {
        try await RelayHarness.run(relay: false) { harness in
            let kvnr = testKVNR(507)
            let insurant = try await harness.server.token(.insurant, id: kvnr)
            #expect(try await harness.client.send(.post, "/Consent", token: insurant, body: Self.consent(kvnr: kvnr, category: "medication")).status == .created)
            _ = try await harness.inProgressTask(kvnr: kvnr)
            #expect(try await harness.server.store.outboxStatistics().pending == 0)
            let other = try await harness.inProgressTask(kvnr: testKVNR(508))
            #expect(try await harness.dispense(other).status == .noContent)
            #expect(try await harness.server.store.outboxStatistics().pending == 2)
        }
    }

    @Test func aConsentThatPermitsIsNoObjection() async throws {
        try await RelayHarness.run(relay: false) { harness in
            let kvnr = testKVNR(509)
            let insurant = try await harness.server.token(.insurant, id: kvnr)
            var body = Self.consent(kvnr: kvnr, category: "medication")
            body.children.append(Element(name: "provision", children: [Element(name: "type", value: "permit")]))
            let reply = try await harness.client.send(.post, "/Consent", token: insurant, body: body)
            #expect(reply.status == .badRequest)
            #expect(try reply.issueExpression() == "Consent.provision.type")
        }
    }

    @Test func aHangingConsentLookupDoesNotDelayDispenseBeyondTheBudget() async throws {
        try await RelayHarness.run(relay: false, configure: { $0.lookupBudget = .milliseconds(150) }) { harness in
            let task = try await harness.inProgressTask(kvnr: testKVNR(506))
            await harness.simulator.setFaults(Faults(latencyMs: 3000))
            let start = ContinuousClock.now
            let reply = try await harness.dispense(task)
            let elapsed = start.duration(to: .now)
            #expect(reply.status == .noContent)
            #expect(elapsed < .milliseconds(1000), "took \(elapsed)")
        }
    }

    /// The lookup left running by the test above would hold the HTTP client's shutdown (and so the
    /// process) for the whole request timeout; shutdown cancels it instead.
    @Test func shutdownCancelsAHangingConsentLookup() async throws {
        try await RelayHarness.run(relay: false, configure: { $0.lookupBudget = .milliseconds(500) }) { harness in
            let task = try await harness.inProgressTask(kvnr: testKVNR(507))
            await harness.simulator.setFaults(Faults(latencyMs: 4000))
            #expect(try await harness.dispense(task).status == .noContent)
            #expect(await harness.consent.hasLookupsInFlight)
            let start = ContinuousClock.now
            await harness.consent.shutdown()
            let elapsed = start.duration(to: .now)
            #expect(elapsed < .milliseconds(1000), "took \(elapsed)")
            #expect(await !harness.consent.hasLookupsInFlight)
            // And no new lookup starts: refresh returns at once, whatever the budget.
            let again = ContinuousClock.now
            await harness.consent.refresh(KVNR(testKVNR(508))!)
            #expect(again.duration(to: .now) < .milliseconds(250))
        }
    }

    @Test func metadataDeclaresThe423() async throws {
        try await RelayHarness.run(relay: false) { harness in
            let statement = try await harness.client.send(.get, "/metadata", token: nil).resource()
            let info = statement.children(named: "extension").first {
                $0.value(of: "url") == "https://gematik.de/fhir/ti/StructureDefinition/extension-http-response-info"
            }
            let values = Dictionary(uniqueKeysWithValues: (info?.children(named: "extension") ?? []).map { ($0.value(of: "url") ?? "", $0.value(of: "valueString") ?? "") })
            #expect(values["statusCode"] == "423")
            #expect(values["errorCode"] == "locked")
            let consent = statement.child("rest")?.children(named: "resource").first { $0.value(of: "type") == "Consent" }
            #expect(consent?.children(named: "interaction").compactMap { $0.value(of: "code") } == ["create", "delete", "search-type"])
        }
    }

    static func consent(kvnr: String, category: String) -> Element {
        Element(name: "Consent", children: [
            Element(name: "status", value: "active"),
            Element(name: "scope", children: [Element(name: "coding", children: [
                Element(name: "system", value: "http://terminology.hl7.org/CodeSystem/consentscope"), Element(name: "code", value: "patient-privacy"),
            ])]),
            Element(name: "category", children: [Element(name: "coding", children: [
                Element(name: "system", value: "https://erx.invalid/fhir/CodeSystem/objection-category"), Element(name: "code", value: category),
            ])]),
            Element(name: "patient", children: [Element(name: "identifier", children: [
                Element(name: "system", value: Systems.kvnr), Element(name: "value", value: kvnr),
            ])]),
        ])
    }
}
