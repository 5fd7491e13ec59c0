import FHIRFormats
import FHIRModel
import FHIRValidation
import Foundation
import Testing

/// A Coding's `display` must be one its CodeSystem gives the code, wherever the Coding sits (bound
/// or not), when we hold that CodeSystem: the HL7 validator's "Wrong Display Name", an error by
/// default. erx wrote workflow 1.2's FlowType displays into 1.6 Tasks until this was checked.
struct DisplayRuleTests {
    static func errors(type coding: String, category: String? = nil) throws -> [OperationOutcome.Issue] {
        var text = ValidatorRuleTests.valid.replacingOccurrences(of: #""type":{"coding":[{"system":"https://example.org/CS/types","code":"a"}]}"#,
                                                                  with: #""type":{"coding":[\#(coding)]}"#)
        if let category { text = text.replacingOccurrences(of: #""status":"completed","#, with: #""status":"completed","category":{"coding":[\#(category)]},"#) }
        return try ValidatorRuleTests.outcome(text).issues.filter { $0.severity == .error }
    }

    static func coding(_ code: String, display: String?, system: String = "https://example.org/CS/types") -> String {
        #"{"system":"\#(system)","code":"\#(code)""# + (display.map { #","display":"\#($0)""# } ?? "") + "}"
    }

    @Test(arguments: ["Beta", "beta", "  Beta ", "Beta (de)"])
    func theDisplayOrADesignationPassesWhateverTheCaseAndSpacing(display: String) throws {
        #expect(try Self.errors(type: Self.coding("b", display: display)).isEmpty)
    }

    @Test func anotherDisplayIsAnErrorAtTheDisplay() throws {
        let errors = try Self.errors(type: Self.coding("b", display: "Gamma"))
        #expect(errors.map(\.code) == [.codeInvalid])
        #expect(errors.first?.expression == ["MedicationDispense.type.coding[0].display"])
        #expect(errors.first?.text.contains("should be 'Beta'") == true)
    }

    @Test func anUnboundCodingIsCheckedToo() throws {
        let errors = try Self.errors(type: Self.coding("a", display: nil), category: Self.coding("b", display: "Gamma"))
        #expect(errors.first?.expression == ["MedicationDispense.category.coding[0].display"])
    }

    /// Nothing to compare against: a system we do not hold, a code without display, no display.
    @Test func withoutAKnownDisplayNothingIsChecked() throws {
        #expect(try Self.errors(type: Self.coding("a", display: "Anything")).isEmpty)
        #expect(try Self.errors(type: Self.coding("a", display: nil), category: Self.coding("x", display: "Y", system: "https://example.org/CS/unknown")).isEmpty)
        #expect(try Self.errors(type: Self.coding("b", display: nil)).isEmpty)
    }
}
