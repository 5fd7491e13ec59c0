import Dispensing
public import FHIRFormats
public import FHIRModel
public import Hummingbird
import NIOCore

/// Reads a request body as one FHIR resource: bounded in size (1 MiB, as the production service),
/// format from `Content-Type`, strict decoding (the readers bound nesting depth and string lengths
/// and never resolve XML entities or DTDs).
public enum RequestBodyReader {
    public static let maximumBodySize = 1 << 20

    /// The decoded resource, or `nil` for an empty body.
    public static func resource(of request: Request, context: inout ErxRequestContext) async throws -> Element? {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw RequestError.bodyTooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw RequestError.bodyTooLarge
        }
        guard buffer.readableBytes > 0 else { return nil }
        let format: WireFormat
        do {
            format = try ContentNegotiation.requestFormat(contentType: request.headers[.contentType])
        } catch {
            throw RequestError.negotiation(error)
        }
        do {
            return try format.fhirFormat.read(Array(buffer.readableBytesView)).resource
        } catch {
            throw RequestError.unreadableBody(error.issue)
        }
    }

    /// The decoded resource; `bodyMissing` for an empty body.
    public static func requiredResource(of request: Request, context: inout ErxRequestContext, expected: String) async throws -> Element {
        guard let resource = try await resource(of: request, context: &context) else {
            throw RequestError.bodyMissing(expectedResource: expected)
        }
        return resource
    }
}
