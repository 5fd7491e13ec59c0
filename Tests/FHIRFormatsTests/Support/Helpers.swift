import FHIRFormats
import FHIRModel
import Testing

func readJSON(_ text: String, _ options: DecodingOptions = .strict) throws(FHIRFormatError) -> DecodedResource {
    try FHIRJSONReader(options: options).read(Array(text.utf8))
}

func readXML(_ text: String, _ options: DecodingOptions = .strict) throws(FHIRFormatError) -> DecodedResource {
    try FHIRXMLReader(options: options).read(Array(text.utf8))
}

/// The issue a strict read reports (and fails the test if the read succeeds).
func jsonError(_ text: String, _ options: DecodingOptions = .strict, sourceLocation: SourceLocation = #_sourceLocation)
    -> OperationOutcome.Issue?
{
    do {
        _ = try readJSON(text, options)
        Issue.record("expected the read to fail", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error.issue
    }
}

func xmlError(_ text: String, _ options: DecodingOptions = .strict, sourceLocation: SourceLocation = #_sourceLocation)
    -> OperationOutcome.Issue?
{
    do {
        _ = try readXML(text, options)
        Issue.record("expected the read to fail", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error.issue
    }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

let fhirXML = "xmlns=\"http://hl7.org/fhir\""
