import FHIRFormats
import FHIRModel
import Foundation
import Testing

/// No input may crash the process, exhaust memory, or reach the network or the file system.
struct InputLimitsTests {
    @Test func externalEntitiesAreRejectedAtTheDoctype() throws {
        let xxe = """
            <?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <Patient \(fhirXML)><gender value="&xxe;"/></Patient>
            """
        let issue = try #require(xmlError(xxe))
        #expect(issue.code == .security)
        #expect(issue.text.contains("DTD"))
    }

    @Test func billionLaughsIsRejectedWithinMilliseconds() throws {
        var entities = "<!ENTITY lol \"lol\">"
        for level in 1...9 {
            let previous = level == 1 ? "lol" : "lol\(level - 1)"
            entities += "<!ENTITY lol\(level) \"" + String(repeating: "&\(previous);", count: 10) + "\">"
        }
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE Patient [\(entities)]><Patient \(fhirXML)><gender value=\"&lol9;\"/></Patient>"
        let clock = ContinuousClock()
        var issue: OperationOutcome.Issue?
        let elapsed = clock.measure { issue = xmlError(bomb) }
        #expect(issue?.code == .security)
        #expect(elapsed < .milliseconds(50))
    }

    @Test func externalDTDIsNeverFetched() throws {
        let issue = try #require(xmlError("""
            <?xml version="1.0"?><!DOCTYPE Patient SYSTEM "http://127.0.0.1:9/evil.dtd"><Patient \(fhirXML)/>
            """))
        #expect(issue.code == .security)
    }

    @Test func undeclaredEntitiesAreMalformed() throws {
        #expect(try #require(xmlError("<Patient \(fhirXML)><gender value=\"&nbsp;\"/></Patient>")).code == .structure)
    }

    @Test func nestingDepthIsBounded() throws {
        let limits = DecodingOptions(limits: .init(maxDepth: 20))
        var json = #"{"resourceType":"Patient","extension":["#
        var closing = "]}"
        for _ in 0..<30 {
            json += #"{"url":"http://x","extension":["#
            closing = "]}" + closing
        }
        json += #"{"url":"http://x","valueBoolean":true}"# + closing
        #expect(try #require(jsonError(json, limits)).code == .tooCostly)

        var xml = "<Patient \(fhirXML)>"
        for _ in 0..<30 { xml += "<extension url=\"http://x\">" }
        xml += "<valueBoolean value=\"true\"/>" + String(repeating: "</extension>", count: 30) + "</Patient>"
        #expect(try #require(xmlError(xml, limits)).code == .tooCostly)
    }

    @Test func deepJSONNestingOfUnknownContentIsBoundedToo() throws {
        let deep = #"{"resourceType":"Patient","x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        #expect(jsonError(deep, .lenient)?.code == .tooCostly)
    }

    @Test func inputSizeIsBounded() throws {
        let options = DecodingOptions(limits: .init(maxInputBytes: 100))
        let big = #"{"resourceType":"Basic","code":{"text":""# + String(repeating: "a", count: 200) + #""}}"#
        #expect(try #require(jsonError(big, options)).code == .tooLong)
        #expect(try #require(xmlError("<Basic \(fhirXML)><code><text value=\"\(String(repeating: "a", count: 200))\"/></code></Basic>",
                                      options)).code == .tooLong)
    }

    @Test func stringLengthIsBounded() throws {
        let options = DecodingOptions(limits: .init(maxStringBytes: 50))
        let long = String(repeating: "a", count: 51)
        #expect(try #require(jsonError(#"{"resourceType":"Basic","code":{"text":"\#(long)"}}"#, options)).code == .tooLong)
        #expect(try #require(xmlError("<Basic \(fhirXML)><code><text value=\"\(long)\"/></code></Basic>", options)).code == .tooLong)
    }

    @Test func arbitraryBytesNeverCrash() throws {
        var generator = SystemRandomNumberGenerator()
        let seed = Array(#"{"resourceType":"Patient","name":[{"given":["A"],"_given":[{"id":"x"}]}],"gender":"male"}"#.utf8)
        let xmlSeed = Array("<Patient \(fhirXML)><name><given value=\"A\"/></name><gender value=\"male\"/></Patient>".utf8)
        for _ in 0..<2000 {
            for var input in [seed, xmlSeed] {
                for _ in 0..<3 { input[Int.random(in: 0..<input.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
                input = Array(input.prefix(Int.random(in: 1...input.count, using: &generator)))
                _ = try? FHIRJSONReader(options: .lenient).read(input)
                _ = try? FHIRXMLReader(options: .lenient).read(input)
                _ = try? FHIRJSONReader().read(input)
                _ = try? FHIRXMLReader().read(input)
            }
        }
    }
}
