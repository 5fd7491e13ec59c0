public import AsyncHTTPClient
public import Dispensing
import FHIRFormats
import FHIRModel
import Foundation
import NIOCore
import NIOHTTP1

/// The registry's HTTP interface: the consent-decision lookup of the information service and the
/// `*-erp` operations of the medication service (dispense-spec.md §5.1–5.3).
public struct RegistryHTTPClient: Sendable {
    public let configuration: RegistryConfiguration
    public let health = RegistryHealth()
    let http: HTTPClient

    public init(configuration: RegistryConfiguration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    /// An HTTP client configuration with a connection for each of the relay's concurrent insurants
    /// plus room for the consent lookups of `$dispense`, so a lookup never queues behind transfers
    /// (it has only its budget, 150 ms by default).
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60),
                                             concurrentHTTP1ConnectionsPerHostSoftLimit: RegistryConfiguration.defaultConcurrency + 16)
        return configuration
    }

    /// Runs a request, noting in `health` whether the registry answered.
    private func execute(_ request: HTTPClientRequest, timeout: Duration) async throws -> HTTPClientResponse {
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)))
            health.record(status: Int(response.status.code))
            return response
        } catch {
            health.record(status: nil)
            throw error
        }
    }

    /// The registry's answer to a consent lookup: the categories it says `deny` for.
    public struct ConsentDecisions: Sendable, Hashable {
        public var denied: Set<ObjectionCategory>
    }

    public enum LookupFailure: Error, Sendable, Hashable {
        /// An answer other than 200 with the decisions (the status), or none in time (`nil`).
        case unavailable(status: Int?)
    }

    /// `GET …/consentdecisions` with `x-insurantid`. Both functions must be `permit` for a transfer
    /// (A_25951-01); a function the answer leaves out counts as `deny`.
    public func consentDecisions(of kvnr: KVNR, timeout: Duration) async throws -> ConsentDecisions {
        var request = HTTPClientRequest(url: configuration.baseURL + "/information/api/v1/ehr/consentdecisions")
        request.headers.add(name: "x-insurantid", value: kvnr.rawValue)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok,
              let document = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
              let data = document["data"] as? [[String: Any]]
        else { throw LookupFailure.unavailable(status: Int(response.status.code)) }
        var denied = Set(ObjectionCategory.allCases)
        for decision in data where decision["decision"] as? String == "permit" {
            if let category = (decision["functionId"] as? String).flatMap(ObjectionCategory.init(rawValue:)) { denied.remove(category) }
        }
        return ConsentDecisions(denied: denied)
    }

    /// What the registry answered to a transfer, reduced to what the relay acts on.
    public struct TransferAnswer: Sendable, Hashable {
        public var status: Int
        /// `errorCode` of the ePA JSON error body (`locked`, `statusMismatch`, …), if any.
        public var errorCode: String?
        /// For a call of several transfers answered 2xx: whether the answer confirms each one.
        public var confirmsEach = true
        /// For a call of one transfer answered 2xx: the `MEDSVC_*` code of an `error` or `fatal`
        /// issue in its outcome (the service answered and refused it), or `nil` when it succeeded.
        public var refusal: String?
    }

    /// `POST …/$<operation>` with the stored payload, the insurant and the transfer's idempotency key.
    public func send(_ entry: OutboxEntry, timeout: Duration) async throws -> TransferAnswer {
        try await send(entry.operation, of: entry.kvnr, body: entry.payload, keys: [entry.idempotencyKey], timeout: timeout)
    }

    /// Several of one insurant's transfers of one operation in one call (A_25956), each its own
    /// parameter, with their idempotency keys in the same order (`Idempotency-Key: k1, k2, …`), or
    /// `nil` when their payloads cannot be joined (``CombinedPayload``). The registry applies them
    /// in order, each once.
    func send(_ entries: [OutboxEntry], timeout: Duration) async throws -> TransferAnswer? {
        guard let head = entries.first else { return nil }
        if entries.count == 1 { return try await send(head, timeout: timeout) }
        guard entries.allSatisfy({ $0.operation == head.operation && $0.kvnr == head.kvnr }),
              let body = CombinedPayload.join(entries.map(\.payload))
        else { return nil }
        return try await send(head.operation, of: head.kvnr, body: body, keys: entries.map(\.idempotencyKey), timeout: timeout)
    }

    private func send(
        _ operation: RegistryTransfer.Operation, of kvnr: KVNR, body: [UInt8], keys: [String], timeout: Duration
    ) async throws -> TransferAnswer {
        var request = HTTPClientRequest(url: configuration.baseURL + "/epa/medication/api/v1/fhir/$" + operation.rawValue)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json, application/json")
        request.headers.add(name: "x-insurantid", value: kvnr.rawValue)
        request.headers.add(name: "Idempotency-Key", value: keys.joined(separator: ", "))
        request.headers.add(name: "User-Agent", value: "erx-relay")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1024 * 1024)
        var answer = TransferAnswer(status: Int(response.status.code))
        if response.status.code >= 400,
           let document = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] {
            answer.errorCode = document["errorCode"] as? String
        }
        if keys.count > 1, (200..<300).contains(answer.status) {
            answer.confirmsEach = Self.confirmsEach(of: keys.count, Array(body.readableBytesView))
        } else if (200..<300).contains(answer.status) {
            answer.refusal = Self.refusal(in: Array(body.readableBytesView))
        }
        return answer
    }

    /// The code of the first `error` or `fatal` issue in the outcomes of a 2xx answer (the ePA
    /// service answers 200 and names a refusal there, fd-parity.md §9.4); `nil` for none, and for a
    /// body that is no Parameters (a registry that says nothing more than 2xx applied it).
    static func refusal(in body: [UInt8]) -> String? {
        guard let parameters = try? FHIRFormat.json.read(body, options: .lenient).resource, parameters.name == "Parameters" else { return nil }
        for answer in parameters.children(named: "parameter") {
            for part in answer.children(named: "part") where part.value(of: "name") == "operationOutcome" {
                guard let outcome = part.child("resource")?.wrappedResource else { continue }
                for issue in outcome.children(named: "issue") where ["error", "fatal"].contains(issue.value(of: "severity") ?? "") {
                    return issue.descendant("details", "coding", "code")?.value ?? issue.value(of: "code") ?? "error"
                }
            }
        }
        return nil
    }

    /// Whether the output Parameters of a call with `count` transfers answers each of them, in
    /// order, without an `error` or `fatal` issue in its `operationOutcome`: a registry may answer
    /// 200 and refuse some of a call's transfers. Read with our FHIR reader (lenient: a registry's
    /// extra elements do not matter here), several times faster than `JSONSerialization`.
    static func confirmsEach(of count: Int, _ body: [UInt8]) -> Bool {
        guard let parameters = try? FHIRFormat.json.read(body, options: .lenient).resource, parameters.name == "Parameters" else { return false }
        let answers = parameters.children(named: "parameter")
        guard answers.count == count else { return false }
        return answers.allSatisfy { answer in
            let outcomes = answer.children(named: "part").filter { $0.value(of: "name") == "operationOutcome" }
            guard outcomes.count == 1, let outcome = outcomes[0].child("resource")?.wrappedResource, outcome.name == "OperationOutcome" else { return false }
            return outcome.children(named: "issue").allSatisfy { !["error", "fatal"].contains($0.value(of: "severity") ?? "") }
        }
    }
}
