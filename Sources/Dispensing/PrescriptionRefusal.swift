/// Why `$activate` refuses a prescription, in the production service's words (fd-parity.md §8.2,
/// §8.3): every check there answers 400 with a fixed text (`details.text`, which gematik's suite
/// compares), often a TI-Flow detail code, and — for the validator's findings — what exactly failed in
/// `diagnostics`. Signature failures also set `VAU-Error-Code: invalid_prescription` (A_20159-04).
///
/// Never carries personal data: texts are fixed, diagnostics name paths and rules, not values.
public struct PrescriptionRefusal: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The CMS, its signature, the signer's certificate or profession (§8.2 row 1).
        case signature
        /// The enclosed KBV bundle: profile, FD checks, MVO (§8.2 rows 2–14, §8.3).
        case content
    }

    public var kind: Kind
    /// The FD's text (`details.text`).
    public var text: String
    /// The TI-Flow detail code (`tiflow-operation-outcome-details-cs`), where the FD sets one.
    public var detailCode: String?
    /// The FHIRPath of the offending element, where one can be named.
    public var expression: String?
    /// What a validator or check found, beyond the FD's text (`diagnostics`).
    public var diagnostics: String?

    public init(_ kind: Kind, text: String, detailCode: String? = nil, expression: String? = nil, diagnostics: String? = nil) {
        self.kind = kind
        self.text = text
        self.detailCode = detailCode
        self.expression = expression
        self.diagnostics = diagnostics
    }
}
