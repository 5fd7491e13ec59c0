public import Dispensing
public import Hummingbird
import Logging

/// What travels with one request through the middleware and the handler: the authenticated caller
/// (set by the route's guard) and a request id for the logs.
public struct ErxRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The verified caller; `nil` on the open routes (`/metadata`, `/health/*`).
    public var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Bodies are read by `RequestBodyReader` with its own limit; Hummingbird's decoder is unused.
    public var maxUploadSize: Int { RequestBodyReader.maximumBodySize }
}
