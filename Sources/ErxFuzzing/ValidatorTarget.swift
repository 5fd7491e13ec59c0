import FHIRFormats
import FHIRModel
import FHIRValidation

/// The profile validator with our bundled profiles (as the server builds it) on every resource the
/// strict JSON reader accepts: it must answer with an OperationOutcome, never crash or hang.
enum ValidatorTarget {
    static var validator: ProfileValidator { ServerParameters.validator }

    static func run(_ bytes: [UInt8]) {
        guard let resource = try? FHIRFormat.json.read(bytes).resource else { return }
        let outcome = validator.validate(resource)
        // Writing the outcome must work too: the server answers with it.
        do {
            _ = try FHIRFormat.json.write(outcome.element)
        } catch {
            violated("the validator's OperationOutcome is not writable: \(error)")
        }
    }
}
