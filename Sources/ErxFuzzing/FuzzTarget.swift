import FHIRFormats

/// The fuzz targets, by the name `scripts/fuzz.sh`, `ERX_FUZZ_TARGET` and `fuzz/regressions/<name>/` use.
///
/// Each target takes arbitrary bytes, runs them through the code under test and traps (`fatalError`)
/// when a property is violated, so that libFuzzer records the input as a crash. Thrown errors for bad
/// input are the expected outcome and are swallowed.
public enum FuzzTarget: String, Sendable, CaseIterable {
    case json, xml, fhirpath, validator, request, vau

    /// Runs one input. Not reentrant for `request` (one server, one request at a time), as libFuzzer calls it.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .json: CodecTargets.roundTrip(bytes, format: .json)
        case .xml: CodecTargets.roundTrip(bytes, format: .xml)
        case .fhirpath: FHIRPathTarget.run(bytes)
        case .validator: ValidatorTarget.run(bytes)
        case .request: RequestTarget.run(bytes)
        case .vau: VAUTarget.run(bytes)
        }
    }

    /// Builds what a target needs once (profiles, the server), so the first input is not charged with it.
    public func prepare() {
        switch self {
        case .json, .xml, .vau: break
        case .fhirpath: _ = FHIRPathTarget.resource
        case .validator: _ = ValidatorTarget.validator
        case .request: _ = RequestTarget.harness
        }
    }
}

/// A violated property: prints what and traps, so libFuzzer (or a replay test) stops on this input.
func violated(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("fuzz property violated: \(message())", file: file, line: line)
}
