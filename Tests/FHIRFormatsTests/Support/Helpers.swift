import FHIRFormats
import FHIRModel
import Testing

func readJSON(_ text: String, _ options: DecodingOptions = .strict) throws(FHIRFormatError) -> DecodedResource {
    try FHIRJSONReader(options: options).read(Array(text.utf8))
}

func readXML(_ text: String, _ options: DecodingOptions = .strict) throws(FHIRFormatError) -> DecodedResource {
    try FHIRXMLReader(options: options).read(Array(text.utf8))
}

/// The issue a read reports (and a recorded test failure if the read succeeds).
func readError(_ read: () throws(FHIRFormatError) -> DecodedResource, sourceLocation: SourceLocation)
    -> OperationOutcome.Issue?
{
    do {
        _ = try read()
        Issue.record("expected the read to fail", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error.issue
    }
}

func jsonError(_ text: String, _ options: DecodingOptions = .strict, sourceLocation: SourceLocation = #_sourceLocation)
    -> OperationOutcome.Issue?
{
    readError({ () throws(FHIRFormatError) in try readJSON(text, options) }, sourceLocation: sourceLocation)
}

func xmlError(_ text: String, _ options: DecodingOptions = .strict, sourceLocation: SourceLocation = #_sourceLocation)
    -> OperationOutcome.Issue?
{
    readError({ () throws(FHIRFormatError) in try readXML(text, options) }, sourceLocation: sourceLocation)
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

let fhirXML = "xmlns=\"http://hl7.org/fhir\""
