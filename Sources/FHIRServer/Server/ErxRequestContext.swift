public import Dispensing
public import Hummingbird
import Logging
public import NIOCore

/// What travels with one request through the middleware and the handler: the authenticated caller
/// (set by the route's guard) and a request id for the logs.
public struct ErxRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified caller; `nil` on the open routes (`/metadata`, `/health/*`).
    public var caller: Caller?
    /// The connection the request came on: a request from inside the VAU tunnel runs with a
    /// context of its own on the tunnel's connection.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Bodies are read by `RequestBodyReader` with its own limit; Hummingbird's decoder is unused.
    public var maxUploadSize: Int { RequestBodyReader.maximumBodySize }
}
