public import FHIRModel

/// How a reader treats input that is not conformant FHIR.
public struct DecodingOptions: Sendable {
    public enum Mode: Sendable {
        /// Every deviation is an error (the server's mode).
        case strict
        /// Recoverable deviations (unknown elements, wrong JSON types, empty values, duplicate keys,
        /// a second choice value, elements outside the FHIR namespace) become warnings and are
        /// dropped or repaired; malformed input is still an error.
        case lenient
    }

    /// Bounds that keep any input from exhausting memory or the stack.
    public struct Limits: Sendable {
        /// The largest document accepted, in bytes.
        public var maxInputBytes: Int
        /// The deepest nesting of objects/arrays (JSON) or elements (XML).
        public var maxDepth: Int
        /// The longest single string or attribute value, in bytes.
        public var maxStringBytes: Int

        public init(maxInputBytes: Int = 16 << 20, maxDepth: Int = 128, maxStringBytes: Int = 4 << 20) {
            self.maxInputBytes = maxInputBytes
            self.maxDepth = maxDepth
            self.maxStringBytes = maxStringBytes
        }

        /// Limits for a document read from a local file (`erx convert`, `erx validate`), not from the
        /// network: the input and any one value in it (a large base64 `Binary.data`) may be up to
        /// `maxBytes`. Nesting stays bounded because the readers recurse on the stack.
        public static func file(maxBytes: Int) -> Limits {
            Limits(maxInputBytes: maxBytes, maxStringBytes: maxBytes)
        }
    }

    public var mode: Mode
    public var limits: Limits
    public var definitions: TypeDefinitions

    public init(mode: Mode = .strict, limits: Limits = Limits(), definitions: TypeDefinitions = R4CoreDefinitions.shared) {
        self.mode = mode
        self.limits = limits
        self.definitions = definitions
    }

    /// Refuses input over ``Limits/maxInputBytes`` before any parsing starts.
    func checkInputSize(_ count: Int) throws(FHIRFormatError) {
        guard count <= limits.maxInputBytes else {
            throw FHIRFormatError(OperationOutcome.Issue(
                code: .tooLong, text: "Input of \(count) bytes exceeds the limit of \(limits.maxInputBytes)"))
        }
    }

    public static let strict = DecodingOptions()
    public static let lenient = DecodingOptions(mode: .lenient)
}

/// A resource read from JSON or XML, with the warnings a lenient read produced.
public struct DecodedResource: Sendable {
    public var resource: Element
    public var warnings: [OperationOutcome.Issue]
}

/// Input that cannot be read as FHIR. The issue names the location as a FHIRPath and, where the format
/// gives one, line and column.
public struct FHIRFormatError: Error, Sendable, CustomStringConvertible {
    public var issue: OperationOutcome.Issue

    public init(_ issue: OperationOutcome.Issue) {
        self.issue = issue
    }

    public var outcome: OperationOutcome { OperationOutcome(issues: [issue]) }
    public var description: String { issue.summary }
}

/// A problem found while reading, before the reader attaches the FHIRPath of where it happened.
struct ReadFailure: Error {
    var code: OperationOutcome.IssueCode
    var message: String
    /// Byte offset into the input (JSON); `nil` where the reader reports line and column itself.
    var offset: Int?
    var line: Int?
    var column: Int?
    /// The FHIRPath, where it was captured when the failure happened (the XML reader unwinds before it reports).
    var expression: String?

    init(code: OperationOutcome.IssueCode, message: String, offset: Int? = nil, line: Int? = nil, column: Int? = nil,
         expression: String? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.line = line
        self.column = column
        self.expression = expression
    }
}

/// The FHIRPath of the element being read, kept as a stack so that it costs nothing until an error.
struct PathStack {
    private var segments: [(name: String, index: Int)] = []

    mutating func push(_ name: String, index: Int = -1) { segments.append((name, index)) }
    mutating func pop() { segments.removeLast() }
    mutating func setIndex(_ index: Int) { segments[segments.count - 1].index = index }

    /// `Parameters.parameter[0].part[1].resource.status`: resources inside `resource`/`contained`
    /// are entered without naming their type, as FHIRPath does.
    var rendered: String {
        segments.map { $0.index >= 0 ? "\($0.name)[\($0.index)]" : $0.name }.joined(separator: ".")
    }
    var isEmpty: Bool { segments.isEmpty }
}

extension ReadFailure {
    func issue(path: PathStack, line: Int? = nil, column: Int? = nil, severity: OperationOutcome.Severity = .error)
        -> OperationOutcome.Issue
    {
        OperationOutcome.Issue(severity: severity, code: code, text: message,
                               expression: expression.map { [$0] } ?? (path.isEmpty ? [] : [path.rendered]),
                               line: line ?? self.line, column: column ?? self.column)
    }
}

/// A set of element indexes of one type (types have at most 128 elements, checked by the generator).
struct ElementSet {
    private var low: UInt64 = 0
    private var high: UInt64 = 0

    /// Inserts; returns false if the index was already there.
    mutating func insert(_ index: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(index & 63)
        if index < 64 {
            defer { low |= bit }
            return low & bit == 0
        }
        defer { high |= bit }
        return high & bit == 0
    }
}
