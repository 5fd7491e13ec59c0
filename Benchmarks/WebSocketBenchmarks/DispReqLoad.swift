import AsyncHTTPClient
import Dispensing
import FHIRServer
import Foundation
import NIOCore
import NIOHTTP1

/// The DispReq half of the benchmark: `POST /Communication` over real HTTP on the same server,
/// with the websockets of the recipients bound.
///
/// * ping after a DispReq: one DispReq at a time, each to another of the bound pharmacies; the
///   time from its 201 to that socket's `ping:` (negative when the ping outran the answer).
/// * throughput: `concurrency` clients post DispReqs for `seconds`, next to `GET /health/live` at
///   the same concurrency for the same time (the framework's own cost, the baseline).
struct DispReqLoad {
    let port: Int
    let key: DevelopmentSigningKey
    let http = HTTPClient(eventLoopGroupProvider: .singleton)

    /// A ready task of a valid KVNR, made over HTTP as a prescriber would (`--accept-unsigned`).
    struct ReadyTask {
        let id: String
        let accessCode: String
        let insurantToken: String
    }

    func post(_ path: String, token: String, json: String) async throws -> (status: UInt, body: [UInt8]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await http.execute(request, timeout: .seconds(30))
        return (response.status.code, Array(try await response.body.collect(upTo: 1 << 20).readableBytesView))
    }

    func get(_ path: String) async throws -> UInt {
        let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }

    func readyTask() async throws -> ReadyTask {
        let kvnr = (0...9).map { "T00000001\($0)" }.first(where: CheckDigits.isValidKVNR) ?? "T000000010"
        let doctor = try await key.token(profession: Profession.doctorsPractice.rawValue, idNummer: "1-HBA-Bench-1")
        let flow = "https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType"
        let created = try await post("/Task/$create", token: doctor, json: #"""
            {"resourceType":"Parameters","parameter":[{"name":"workflowType","valueCoding":{"system":"\#(flow)","code":"160"}}]}
            """#)
        let task = try JSONSerialization.jsonObject(with: Data(created.body)) as? [String: Any] ?? [:]
        let id = task["id"] as? String ?? ""
        let identifiers = task["identifier"] as? [[String: Any]] ?? []
        let accessCode = identifiers.first { ($0["system"] as? String)?.hasSuffix("AccessCode") == true }?["value"] as? String ?? ""
        let today = CalendarDate.day(of: Date())
        let activated = try await post("/Task/\(id)/$activate?ac=\(accessCode)", token: doctor, json: #"""
            {"resourceType":"Bundle","identifier":{"system":"https://gematik.de/fhir/erp/NamingSystem/GEM_ERP_NS_PrescriptionId","value":"\#(id)"},
             "type":"document","entry":[
              {"fullUrl":"urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01","resource":{"resourceType":"Patient","identifier":[{"system":"http://fhir.de/sid/gkv/kvid-10","value":"\#(kvnr)"}]}},
              {"fullUrl":"urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b02","resource":{"resourceType":"MedicationRequest","status":"active","intent":"order",
               "subject":{"reference":"urn:uuid:0b4c6a47-6b25-4a51-9cda-6b5a0d0e1b01"},"authoredOn":"\#(today)"}}]}
            """#)
        guard activated.status == 200 else { throw Failure(what: "$activate answered \(activated.status)") }
        return ReadyTask(id: id, accessCode: accessCode, insurantToken: try await key.token(profession: Profession.insurant.rawValue, idNummer: kvnr))
    }

    /// A DispReq (workflow 1.6, payload v1) for `task` to `pharmacy`.
    static func dispReq(_ task: ReadyTask, to pharmacy: TelematikID) -> String {
        #"""
        {"resourceType":"Communication","meta":{"profile":["https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_PR_Communication_DispReq|1.6"]},
         "extension":[{"url":"https://gematik.de/fhir/erp/StructureDefinition/GEM_ERP_EX_PrescriptionType",
           "valueCoding":{"system":"https://gematik.de/fhir/erp/CodeSystem/GEM_ERP_CS_FlowType","code":"160","display":"Flowtype für Apothekenpflichtige Arzneimittel"}}],
         "status":"unknown","basedOn":[{"reference":"Task/\#(task.id)/$accept?ac=\#(task.accessCode)"}],
         "recipient":[{"identifier":{"system":"https://gematik.de/fhir/sid/telematik-id","value":"\#(pharmacy.rawValue)"}}],
         "payload":[{"contentString":"{\"version\":1,\"supplyOptionsType\":\"onPremise\"}"}]}
        """#
    }

    /// Requests per second of `call` from `concurrency` clients for `seconds`; only `expected` answers count.
    func rate(concurrency: Int, seconds: Double, expected: UInt, _ call: @escaping @Sendable (Int) async throws -> UInt) async -> (perSecond: Double, failed: Int) {
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        let counts = await withTaskGroup(of: (Int, Int).self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    var (good, bad, index) = (0, 0, client)
                    while ContinuousClock.now < end {
                        if (try? await call(index)) == expected { good += 1 } else { bad += 1 }
                        index += concurrency
                    }
                    return (good, bad)
                }
            }
            return await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        }
        let elapsed = start.duration(to: .now)
        return (Double(counts.0) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18), counts.1)
    }

    func shutdown() async { try? await http.shutdown() }

    struct Failure: Error { let what: String }
}
