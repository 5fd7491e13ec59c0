/// What one request may make the server do (issue 19): every value bounds a cost an anonymous or
/// merely authenticated caller could otherwise choose. The defaults sit far above any real
/// e-prescription body and far below what would let a few requests stall the server.
public struct RequestLimits: Sendable, Hashable {
    /// The largest body read, in bytes (1 MiB, as the production service). A larger declared
    /// `Content-Length` is answered 413 before any of the body is read.
    public var maximumBodyBytes: Int
    /// The most elements (nodes of the resource tree, every primitive and every complex value)
    /// one body may hold. A real `$dispense` body with one dispensation has about 120.
    public var maximumElements: Int
    /// The most repeats of one element in one parent (`dosageInstruction`, `parameter`, `part`, …).
    public var maximumRepeats: Int
    /// A body that may be larger than this (declared larger, or of no declared length) is treated
    /// as costly: the checks that need no body (task, secret or AccessCode, status) run before it
    /// is read, and it is parsed and validated on the large-body lane, one at a time and at a lower
    /// CPU priority, so that other requests keep their cores. Under it, parsing and validating cost
    /// less than the store read the early checks take.
    public var largeBodyBytes: Int

    public init(maximumBodyBytes: Int = 1 << 20, maximumElements: Int = 100_000, maximumRepeats: Int = 1_000,
                largeBodyBytes: Int = 16 << 10) {
        self.maximumBodyBytes = maximumBodyBytes
        self.maximumElements = maximumElements
        self.maximumRepeats = maximumRepeats
        self.largeBodyBytes = largeBodyBytes
    }
}
