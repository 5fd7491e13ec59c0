import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import HummingbirdTesting

/// Brings a fresh task into a given state through the API itself, as a conformance suite would.
struct TaskFactory {
    enum State: String, Decodable, CaseIterable {
        case draft, ready, inProgress = "in-progress", dispensed, completed, cancelled, unknown
    }

    struct Prepared {
        var id: String
        var accessCode: String = ""
        var secret: String = ""
    }

    let client: Client
    let doctor: String
    let pharmacy: String

    init(client: Client) async throws {
        self.client = client
        doctor = try await client.server.token(.doctorsPractice, id: TestServer.doctorTelematikID)
        pharmacy = try await client.server.token(.publicPharmacy, id: TestServer.pharmacyTelematikID)
    }

    /// Brings a fresh task of `kvnr` and `flowType` into `state`; `prescription` makes the
    /// `$activate` bundle for a PrescriptionID and KVNR (default: ``Bodies/prescription(id:kvnr:authoredOn:)``).
    func prepare(_ state: State, kvnr: String = TestServer.kvnr, flowType: Int = 160,
                 prescription: ((_ id: String, _ kvnr: String) throws -> Element)? = nil) async throws -> Prepared {
        if state == .unknown { return Prepared(id: PrescriptionID(flowType: .gkvPharmacy, serial: 999_999_999_999).rawValue) }
        let created = try await client.send(.post, "/Task/$create", token: doctor, body: Bodies.createParameters(flowType: flowType))
        let task = try created.resource()
        var prepared = Prepared(id: task.value(of: "id") ?? "")
        prepared.accessCode = task.children(named: "identifier").first { $0.value(of: "system") == Systems.accessCode }?.value(of: "value") ?? ""
        if state == .draft { return prepared }
        _ = try await check(client.send(.post, "/Task/\(prepared.id)/$activate?ac=\(prepared.accessCode)", token: doctor,
                                        body: try prescription?(prepared.id, kvnr) ?? Bodies.prescription(id: prepared.id, kvnr: kvnr, authoredOn: "2026-10-01")),
                            .ok)
        if state == .ready { return prepared }
        if state == .cancelled {
            _ = try await check(client.send(.post, "/Task/\(prepared.id)/$abort?ac=\(prepared.accessCode)", token: doctor), .noContent)
            return prepared
        }
        let accepted = try await check(client.send(.post, "/Task/\(prepared.id)/$accept?ac=\(prepared.accessCode)", token: pharmacy), .ok)
        let acceptedTask = try accepted.resource().child("entry")?.child("resource")?.wrappedResource
        prepared.secret = acceptedTask?.children(named: "identifier").first { $0.value(of: "system") == Systems.secret }?.value(of: "value") ?? ""
        if state == .inProgress { return prepared }
        _ = try await check(client.send(.post, "/Task/\(prepared.id)/$dispense?secret=\(prepared.secret)", token: pharmacy,
                                        body: Bodies.dispense(id: prepared.id, count: 1, kvnr: kvnr)), .noContent)
        if state == .dispensed { return prepared }
        _ = try await check(client.send(.post, "/Task/\(prepared.id)/$close?secret=\(prepared.secret)", token: pharmacy), .ok)
        return prepared
    }

    struct SetupFailed: Error, CustomStringConvertible {
        let status: HTTPResponse.Status
        let body: String
        var description: String { "set-up request answered \(status): \(body)" }
    }

    private func check(_ reply: Reply, _ status: HTTPResponse.Status) throws -> Reply {
        guard reply.status == status else { throw SetupFailed(status: reply.status, body: String(decoding: reply.bytes, as: UTF8.self)) }
        return reply
    }
}
