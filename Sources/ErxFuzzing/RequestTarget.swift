import Dispensing
import FHIRFormats
import FHIRModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore

/// The whole request path in-process: the first input byte picks a route from a fixed list of
/// realistic requests (with valid tokens, AccessCodes and Secrets of prepared tasks), the second byte
/// picks headers, the rest is the body (`{{id}}` in it stands for the addressed task's
/// PrescriptionID) or the query string. The server must never crash or answer
/// 500, and every non-2xx answer with a body must be an OperationOutcome.
enum RequestTarget {
    /// How a route uses the payload (the input after the first two bytes).
    enum Payload {
        case body, query
    }

    /// Which caller a route is sent as by default.
    enum Caller {
        case doctor, pharmacy, insurant, none
    }

    /// The prepared tasks, by state.
    enum Slot {
        case draft, ready, inProgress
    }

    /// One request: `{id}`, `{ac}` and `{secret}` in the path stand for the task's, and `{{id}}` in the
    /// body for its PrescriptionID.
    struct Route {
        var method: HTTPRequest.Method
        var path: String
        var payload: Payload
        var caller: Caller
        var task: Slot? = nil
        /// Whether a successful request uses the task up (it is replaced before the next input).
        var consumes = false

        func uri(_ harness: RequestHarness) -> String {
            guard let task else { return path }
            let prepared = harness.prepared(task)
            return path.replacing("{id}", with: prepared.id).replacing("{ac}", with: prepared.accessCode)
                .replacing("{secret}", with: prepared.secret)
        }
    }

    static let routes: [Route] = [
        Route(method: .post, path: "/Task/{id}/$dispense?secret={secret}", payload: .body, caller: .pharmacy, task: .inProgress),
        Route(method: .post, path: "/Task/{id}/$close?secret={secret}", payload: .body, caller: .pharmacy, task: .inProgress, consumes: true),
        Route(method: .get, path: "/MedicationDispense?", payload: .query, caller: .insurant),
        Route(method: .get, path: "/Task?", payload: .query, caller: .insurant),
        Route(method: .get, path: "/Task/{id}?secret={secret}&", payload: .query, caller: .pharmacy, task: .inProgress),
        Route(method: .post, path: "/Consent", payload: .body, caller: .insurant),
        Route(method: .delete, path: "/Consent?", payload: .query, caller: .insurant),
        Route(method: .get, path: "/Consent?", payload: .query, caller: .insurant),
        Route(method: .post, path: "/Task/$create", payload: .body, caller: .doctor),
        Route(method: .post, path: "/Task/{id}/$activate?ac={ac}", payload: .body, caller: .doctor, task: .draft, consumes: true),
        Route(method: .post, path: "/Task/{id}/$accept?ac={ac}&", payload: .query, caller: .pharmacy, task: .ready, consumes: true),
        Route(method: .post, path: "/Task/{id}/$reject?secret={secret}&", payload: .query, caller: .pharmacy, task: .inProgress, consumes: true),
        Route(method: .post, path: "/Task/{id}/$abort?ac={ac}&", payload: .query, caller: .doctor, task: .ready, consumes: true),
        Route(method: .get, path: "/metadata?", payload: .query, caller: .none),
    ]

    static let harness: RequestHarness = blocking {
        do {
            return try await RequestHarness()
        } catch {
            fatalError("the request harness does not start: \(error)")
        }
    }

    static func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let route = routes[Int(bytes[0]) % routes.count]
        let flags = bytes[1]
        let payload = Array(bytes.dropFirst(2))
        let harness = harness
        var uri = route.uri(harness)
        var body: [UInt8] = []
        switch route.payload {
        case .body:
            let id = route.task.map { harness.prepared($0).id } ?? ""
            body = replacing(Array("{{id}}".utf8), with: Array(id.utf8), in: payload)
        case .query: uri += queryText(payload)
        }
        guard !hitsKnownOffsetOverflow(uri) else { return }
        let headers = headers(flags: flags, route: route, body: body, harness: harness)
        let (sentURI, sentBody) = (uri, body)
        blocking {
            let (status, answerHeaders, answer) = await harness.send(route.method, sentURI, headers: headers, body: sentBody)
            check(status: status, headers: answerHeaders, body: answer, request: "\(route.method) \(sentURI)")
            // An objection locks `$dispense` for the insurant of every prepared task: lift it again.
            if status.kind == .successful, route.method == .post, route.path == "/Consent" {
                await harness.withdrawObjections()
            }
            if status.kind == .successful, route.consumes, let task = route.task {
                do {
                    try await harness.refresh(draft: task == .draft, ready: task == .ready, inProgress: task == .inProgress)
                } catch {
                    violated("could not prepare a fresh task after \(route.method) \(sentURI): \(error)")
                }
            }
        }
    }

    /// The properties every answer has.
    static func check(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8], request: String) {
        let text = { String(decoding: body.prefix(2000), as: UTF8.self) }
        if status == .internalServerError { violated("\(request) answered 500: \(text())") }
        guard status.kind != .successful, !body.isEmpty else { return }
        let contentType = headers[.contentType] ?? ""
        let format: FHIRFormat = contentType.contains("xml") ? .xml : .json
        guard let outcome = try? format.read(body).resource, outcome.name == "OperationOutcome" else {
            violated("\(request) answered \(status.code) with a body that is no OperationOutcome (\(contentType)): \(text())")
        }
    }

    /// Bits 0–1 the Content-Type, 2–3 the Accept header, 4–5 the caller (the route's, another, none).
    static func headers(flags: UInt8, route: Route, body: [UInt8], harness: RequestHarness) -> HTTPFields {
        var headers: HTTPFields = [:]
        if !body.isEmpty {
            switch flags & 3 {
            case 0: headers[.contentType] = FHIRFormat.sniff(body) == .xml ? "application/fhir+xml" : "application/fhir+json"
            case 1: headers[.contentType] = "application/fhir+json; charset=utf-8"
            case 2: headers[.contentType] = "application/fhir+xml;charset=UTF-8"
            default: headers[.contentType] = "text/plain"
            }
        }
        switch (flags >> 2) & 3 {
        case 1: headers[.accept] = "application/fhir+json"
        case 2: headers[.accept] = "application/fhir+xml"
        case 3: headers[.accept] = "application/json;q=0.5, application/fhir+xml"
        default: break
        }
        let caller: Caller = switch (flags >> 4) & 3 {
        case 2: route.caller == .insurant ? .pharmacy : .insurant
        case 3: .none
        default: route.caller
        }
        let token: String? = switch caller {
        case .doctor: harness.doctor
        case .pharmacy: (flags & 0x40) == 0 ? harness.pharmacy : harness.otherPharmacy
        case .insurant: harness.insurant
        case .none: nil
        }
        if let token { headers[.authorization] = "Bearer \(token)" }
        return headers
    }

    /// The payload as a query string: the bytes an HTTP parser lets through in a request target
    /// (no controls, no space), so the router sees what a socket could deliver.
    static func queryText(_ payload: [UInt8]) -> String {
        String(decoding: payload.filter { $0 > 0x20 && $0 != 0x7F && $0 != UInt8(ascii: "#") }, as: UTF8.self)
    }

    /// `__offset` near `Int.max` traps in `GET /MedicationDispense` (being fixed separately); the
    /// fuzzer would find it again and again, so such inputs are skipped here.
    static func hitsKnownOffsetOverflow(_ uri: String) -> Bool {
        guard let offset = URI(uri).queryParameters["__offset"], let value = Int(offset) else { return false }
        return value > 1 << 40
    }
}

/// Seeds write the task's PrescriptionID as `{{id}}` (the prepared tasks change as requests use them
/// up), so that a valid `$dispense`/`$close`/`$activate` body stays valid for the fuzzer to mutate.
func replacing(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
    var result: [UInt8] = []
    result.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
        if bytes[index] == pattern[0], bytes[index...].starts(with: pattern) {
            result += replacement
            index += pattern.count
        } else {
            result.append(bytes[index])
            index += 1
        }
    }
    return result
}

/// Runs async work to completion from the synchronous fuzzer callback (never on a concurrency thread).
func blocking<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await work()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Hands a result from the task to the waiting thread; the semaphore orders the accesses.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
