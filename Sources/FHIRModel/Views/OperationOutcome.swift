/// An OperationOutcome: what every layer reports problems as, and what every error response carries.
public struct OperationOutcome: Sendable, Hashable {
    public enum Severity: String, Sendable, Hashable, CaseIterable {
        case fatal, error, warning, information
    }

    /// The R4 `IssueType` codes (http://hl7.org/fhir/issue-type).
    public enum IssueCode: String, Sendable, Hashable, CaseIterable {
        case invalid, structure, required, value, invariant, security, login, unknown, expired, forbidden
        case suppressed, processing, notSupported = "not-supported", duplicate, multipleMatches = "multiple-matches"
        case notFound = "not-found", deleted, tooLong = "too-long", codeInvalid = "code-invalid", `extension`
        case tooCostly = "too-costly", businessRule = "business-rule", conflict, transient, lockError = "lock-error"
        case noStore = "no-store", exception, timeout, incomplete, throttled, informational
    }

    public struct Issue: Sendable, Hashable {
        public var severity: Severity
        public var code: IssueCode
        /// Human-readable text (`details.text`). Never personal data.
        public var text: String
        /// A machine-readable detail code (`details.coding`), e.g. gematik's `locked`.
        public var detailCode: Coding?
        /// Extra technical detail (`diagnostics`).
        public var diagnostics: String?
        /// FHIRPath expressions of the elements concerned.
        public var expression: [String]
        /// Line and column in the input, where the format gives them.
        public var line: Int?
        public var column: Int?

        public init(severity: Severity = .error, code: IssueCode, text: String, detailCode: Coding? = nil,
                    diagnostics: String? = nil, expression: [String] = [], line: Int? = nil, column: Int? = nil) {
            self.severity = severity
            self.code = code
            self.text = text
            self.detailCode = detailCode
            self.diagnostics = diagnostics
            self.expression = expression
            self.line = line
            self.column = column
        }

        /// One line for logs and terminals: `error structure at Patient.name[0] (line 3, column 5): text`.
        public var summary: String {
            var result = "\(severity.rawValue) \(code.rawValue)"
            if let path = expression.first { result += " at \(path)" }
            if let line, let column { result += " (line \(line), column \(column))" }
            return result + ": " + text
        }
    }

    public struct Coding: Sendable, Hashable {
        public var system: String
        public var code: String
        public init(system: String, code: String) {
            self.system = system
            self.code = code
        }
    }

    public var id: String?
    public var issues: [Issue]

    public init(id: String? = nil, issues: [Issue]) {
        self.id = id
        self.issues = issues
    }

    public var hasErrors: Bool {
        issues.contains { $0.severity == .error || $0.severity == .fatal }
    }

    /// `text` as a FHIR `string` that both writers can carry: characters XML 1.0 and FHIR do not
    /// allow (control characters but tab, line feed and carriage return; U+FFFE, U+FFFF) replaced
    /// by U+FFFD, at most `limit` characters, never empty. Error texts may name input (an element
    /// name, a resource type), so an answer is always writable whatever the input held (issue 19).
    public static func writable(_ text: String, limit: Int = 2_000) -> String {
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            return value >= 0x20 ? value != 0xFFFE && value != 0xFFFF : value == 0x09 || value == 0x0A || value == 0x0D
        }
        if !text.isEmpty, text.utf8.count <= limit, text.unicodeScalars.allSatisfy(allowed) { return text }
        guard !text.isEmpty else { return "(none)" }
        var result = String.UnicodeScalarView()
        for (count, scalar) in text.unicodeScalars.enumerated() {
            guard count < limit else {
                result.append("…")
                break
            }
            result.append(allowed(scalar) ? scalar : "\u{FFFD}")
        }
        return String(result)
    }

    /// The resource as a tree, ready for either writer. Every text goes through ``writable(_:limit:)``.
    public var element: Element {
        var children: [Element] = []
        if let id { children.append(Element(name: "id", value: id)) }
        for issue in issues {
            var parts = [
                Element(name: "severity", value: issue.severity.rawValue),
                Element(name: "code", value: issue.code.rawValue),
            ]
            var details: [Element] = []
            if let coding = issue.detailCode {
                details.append(Element(name: "coding", children: [
                    Element(name: "system", value: coding.system), Element(name: "code", value: coding.code),
                ]))
            }
            details.append(Element(name: "text", value: Self.writable(issue.text)))
            parts.append(Element(name: "details", children: details))
            if let diagnostics = issue.diagnostics { parts.append(Element(name: "diagnostics", value: Self.writable(diagnostics))) }
            // `location` is deprecated in R4 but is where the HL7 validator reports line and column.
            if let line = issue.line, let column = issue.column {
                parts.append(Element(name: "location", value: "Line[\(line)] Col[\(column)]"))
            }
            for path in issue.expression { parts.append(Element(name: "expression", value: Self.writable(path, limit: 500))) }
            children.append(Element(name: "issue", children: parts))
        }
        return Element(name: "OperationOutcome", children: children)
    }

    /// Reads the issues of an OperationOutcome tree (unknown parts are ignored).
    public init?(_ element: Element) {
        guard element.name == "OperationOutcome" else { return nil }
        id = element.value(of: "id")
        issues = element.children(named: "issue").map { issue in
            let details = issue.child("details")
            let coding = details?.child("coding")
            return Issue(
                severity: issue.value(of: "severity").flatMap(Severity.init(rawValue:)) ?? .error,
                code: issue.value(of: "code").flatMap(IssueCode.init(rawValue:)) ?? .unknown,
                text: details?.value(of: "text") ?? "",
                detailCode: coding.flatMap { coding in
                    coding.value(of: "code").map { Coding(system: coding.value(of: "system") ?? "", code: $0) }
                },
                diagnostics: issue.value(of: "diagnostics"),
                expression: issue.children(named: "expression").compactMap(\.value)
            )
        }
    }
}
