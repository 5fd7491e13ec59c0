/// How long a connection may take for each part of its life, and how many may be open (issue 19).
/// Every value bounds what a client that never finishes, or never stops opening, can hold.
public struct ConnectionLimits: Sendable, Hashable {
    /// Between requests: a keep-alive connection with nothing to say is closed after this.
    public var idleTimeout: Duration
    /// From a request's first byte to the end of its header.
    public var headerTimeout: Duration
    /// The longest pause while a body is being sent.
    public var bodyReadTimeout: Duration
    /// The most connections open at once; one more is answered 503 and closed at once.
    public var maximumConnections: Int
    /// The largest request header (all fields together), in bytes.
    public var maximumHeaderBytes: Int

    public init(idleTimeout: Duration = .seconds(60), headerTimeout: Duration = .seconds(10), bodyReadTimeout: Duration = .seconds(10),
                maximumConnections: Int = 4_096, maximumHeaderBytes: Int = 16 << 10) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyReadTimeout = bodyReadTimeout
        self.maximumConnections = maximumConnections
        self.maximumHeaderBytes = maximumHeaderBytes
    }
}
