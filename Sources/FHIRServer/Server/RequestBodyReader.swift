import Dispensing
import FHIRFormats
public import FHIRModel
public import Hummingbird
import NIOCore

/// Reads a request body as one FHIR resource: bounded in size (1 MiB, as the production service),
/// format from `Content-Type`, strict decoding (the readers bound nesting depth and string lengths
/// and never resolve XML entities or DTDs), then counted against the element budget
/// (``RequestLimits``). A large body is decoded, and whatever the route does with it, on the
/// ``LargeBodyLane``.
public enum RequestBodyReader {
    public static let maximumBodySize = RequestLimits().maximumBodyBytes

    /// Whether the body may be larger than ``RequestLimits/largeBodyBytes``: declared so, or of no
    /// declared length (chunked). Such a body waits for the checks that need none.
    public static func mayBeLarge(_ request: Request, limits: RequestLimits) -> Bool {
        guard let length = declaredLength(request) else { return true }
        return length > limits.largeBodyBytes
    }

    /// The declared `Content-Length`: `nil` without one (or an unreadable one), `Int.max` for one
    /// of more digits than an `Int` holds.
    static func declaredLength(_ request: Request) -> Int? {
        guard let declared = request.headers[.contentLength] else { return nil }
        if declared.utf8.count > 18, declared.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) { return .max }
        return Int(declared)
    }

    /// Decodes the body (`nil` when empty) and hands it to `use`; both run on the large-body lane
    /// when the body is large, so validation, which `use` usually does, runs there too.
    public static func decode<T: Sendable>(
        _ request: Request, limits: RequestLimits, _ use: @escaping @Sendable (Element?) throws -> T
    ) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limits.maximumBodyBytes)
        } catch is NIOTooManyBytesError {
            throw RequestError.bodyTooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw RequestError.bodyTooLarge
        }
        guard buffer.readableBytes > 0 else { return try use(nil) }
        let format: WireFormat
        do {
            format = try ContentNegotiation.requestFormat(contentType: request.headers[.contentType])
        } catch {
            throw RequestError.negotiation(error)
        }
        let work: @Sendable () throws -> T = { try use(parse(buffer, format: format, limits: limits)) }
        guard buffer.readableBytes > limits.largeBodyBytes else { return try work() }
        return try await LargeBodyLane.shared.run(work)
    }

    /// The body's resource, read strictly and counted against the element budget.
    static func parse(_ buffer: ByteBuffer, format: WireFormat, limits: RequestLimits) throws(RequestError) -> Element {
        let resource: Element
        do {
            resource = try format.fhirFormat.read(Array(buffer.readableBytesView)).resource
        } catch {
            throw .unreadableBody(error.issue)
        }
        do {
            try ElementBudget.check(resource, limits: limits)
        } catch {
            throw .bodyTooCostly(error)
        }
        return resource
    }

    /// The decoded resource, or `nil` for an empty body.
    public static func resource(of request: Request, limits: RequestLimits) async throws -> Element? {
        try await decode(request, limits: limits) { $0 }
    }

    /// The decoded resource; `bodyMissing` for an empty body.
    public static func requiredResource(of request: Request, limits: RequestLimits, expected: String) async throws -> Element {
        guard let resource = try await resource(of: request, limits: limits) else {
            throw RequestError.bodyMissing(expectedResource: expected)
        }
        return resource
    }
}
