import Crypto
import Dispensing
import FHIRServer
import Foundation
import Testing

/// The parts of the eGK redemption without HTTP (issue 24; fd-parity §1.1–§1.3): gzip, the PN
/// document, the check digits v1 and v2, the hcv, the key file.
@Suite struct EgkProofTests {
    static let key = SymmetricKey(data: Data((0..<32).map { UInt8($0) }))
    static let keys = VSDMKeySet([.init(operatorID: "A", version: "1", secret: key)])
    static let kvnr = "X234567890"

    /// A_27352, A_27346: the API's worked example.
    @Test func hcvOfTheWorkedExampleIsF9ZD7cI() {
        let hcv = HealthCareValidation.hcv(insuranceStart: "20180111", street: "Beispielstrasse")
        #expect(HealthCareValidation.text(hcv) == "F9ZD7cI")
        // The street is trimmed.
        #expect(HealthCareValidation.hcv(insuranceStart: "20180111", street: "  Beispielstrasse ") == hcv)
        #expect(hcv[0] & 0x80 == 0)
    }

    @Test func gzipRoundTripsAndRefusesBombsAndGarbage() throws {
        let text = Array("<PN/>".utf8)
        let packed = try #require(Gzip.deflate(text))
        #expect(try Gzip.inflate(packed) == text)
        // 10 MB of zeros compress to about 10 KB; inflating stops at the limit.
        let bomb = try #require(Gzip.deflate([UInt8](repeating: 0, count: 10 << 20)))
        #expect(bomb.count < 64 << 10)
        #expect(throws: Gzip.Failure.tooLarge) { try Gzip.inflate(bomb) }
        #expect(throws: Gzip.Failure.malformed) { try Gzip.inflate(Array("not gzip".utf8)) }
        #expect(throws: Gzip.Failure.malformed) { try Gzip.inflate(Array(packed.dropLast(4))) }
        #expect(throws: Gzip.Failure.malformed) { try Gzip.inflate(packed + [1, 2, 3]) }
    }

    /// A_23450: the document the schema admits, and what it does not.
    @Test func theProofDocumentFollowsTheSchema() throws {
        let document = ProofOfPresence(timestamp: "20261207120000", result: 1, errorCode: 12, checkDigit: String(repeating: "A", count: 64))
        #expect(try ProofOfPresence.parse(xml: Array(document.xml().utf8)) == document)
        #expect(try ProofOfPresence.decode(pnw: try #require(document.pnw())) == document)
        let ns = ProofOfPresence.namespace
        let invalid = [
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><E>1</E><TS>20261207120000</TS></PN>"#,   // order
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0"><TS>20261207120000</TS><E>1</E></PN>"#,      // version
            #"<PN xmlns="\#(ns)"><TS>20261207120000</TS><E>1</E></PN>"#,                        // no version
            #"<PN CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>1</E></PN>"#,                    // namespace
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261307120000</TS><E>1</E></PN>"#,    // month 13
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>12</E></PN>"#,   // two digits
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>1</E><EC>123456</EC></PN>"#,
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>1</E><PZ>!!</PZ></PN>"#,
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>1</E><X/></PN>"#,
            #"<!DOCTYPE PN [<!ENTITY a "b">]><PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>1</E></PN>"#,
            #"<PN xmlns="\#(ns)" CDM_VERSION="1.0.0"><TS>20261207120000</TS><E>1</E>"#,
        ]
        for text in invalid {
            #expect(throws: ProofOfPresence.Failure.invalidDocument, "\(text)") { try ProofOfPresence.parse(xml: Array(text.utf8)) }
        }
        #expect(throws: ProofOfPresence.Failure.undecodable) { try ProofOfPresence.decode(pnw: "not base64!") }
        #expect(throws: ProofOfPresence.Failure.undecodable) { try ProofOfPresence.decode(pnw: Data("plain".utf8).base64EncodedString()) }
    }

    /// A_23454, A_23456-01: a v1 PZ verifies with its key only.
    @Test func v1CheckDigitsVerifyWithTheirKey() throws {
        let now = Date()
        let text = VSDMCheckDigit.makeV1(kvnr: Self.kvnr, time: now, operatorID: "A", version: "1", secret: Self.key)
        #expect(text.count == 64)
        guard case .v1(let proof) = try VSDMCheckDigit.parse(text) else { Issue.record("not v1"); return }
        #expect(proof.kvnr == Self.kvnr && proof.issuedAt == Int64(now.timeIntervalSince1970))
        #expect(proof.operatorID == "A" && proof.version == "1")
        #expect(proof.verify(Self.keys))
        #expect(!proof.verify(VSDMKeySet()))
        let other = VSDMCheckDigit.makeV1(kvnr: Self.kvnr, time: now, operatorID: "A", version: "1", secret: SymmetricKey(size: .bits256))
        guard case .v1(let forged) = try VSDMCheckDigit.parse(other) else { Issue.record("not v1"); return }
        #expect(!forged.verify(Self.keys))
    }

    /// A_27279: a v2 PZ decrypts with its key to hcv, time, KVNR and the revocation bit.
    @Test func v2CheckDigitsDecryptWithTheirKey() throws {
        let hcv = HealthCareValidation.hcv(insuranceStart: "20180111", street: "Beispielstrasse")
        let now = Date()
        for revoked in [false, true] {
            let text = try #require(VSDMCheckDigit.makeV2(kvnr: Self.kvnr, hcv: hcv, revoked: revoked, time: now, operatorID: "C",
                                                          version: "2", secret: Self.key))
            #expect(text.count == 64)
            guard case .v2(let proof) = try VSDMCheckDigit.parse(text) else { Issue.record("not v2"); return }
            #expect(proof.operatorID == "C" && proof.version == "2")
            #expect(proof.decrypt(Self.keys) == nil, "operator C is not in the key set")
            let content = try #require(proof.decrypt(VSDMKeySet([.init(operatorID: "C", version: "2", secret: Self.key)])))
            #expect(content.hcv == hcv && content.kvnr == Self.kvnr && content.revoked == revoked)
            #expect(abs(content.issuedAt - Int64(now.timeIntervalSince1970)) < 8)
        }
    }

    @Test func checkDigitSizeAndFormat() {
        #expect(throws: VSDMCheckDigit.FormatFailure.invalidSize) { try VSDMCheckDigit.parse(String(repeating: "A", count: 60)) }
        // 64 characters, 48 bytes.
        #expect(throws: VSDMCheckDigit.FormatFailure.invalidSize) { try VSDMCheckDigit.parse(String(repeating: "A", count: 64)) }
        // 47 bytes starting with a digit: neither v1 nor v2.
        let digit = Data([UInt8(ascii: "1")] + [UInt8](repeating: 0, count: 46)).base64EncodedString()
        #expect(throws: VSDMCheckDigit.FormatFailure.invalidFormat) { try VSDMCheckDigit.parse(digit) }
    }

    @Test func theKeyFileIsReadAndCheckedWithoutQuotingKeys() throws {
        let secret = Data(repeating: 7, count: 32).base64EncodedString()
        let keys = try VSDMKeySet(json: Data(#"[{"betreiberkennung":"B","version":"3","cleartext_key":"\#(secret)"}]"#.utf8))
        #expect(keys.key(operatorID: "B", version: "3") != nil)
        #expect(keys.key(operatorID: "B", version: "2") == nil)
        for bad in [#"[{"betreiberkennung":"b","version":"3","cleartext_key":"\#(secret)"}]"#,
                    #"[{"betreiberkennung":"B","version":"4","cleartext_key":"\#(secret)"}]"#,
                    #"[{"betreiberkennung":"B","version":"3","cleartext_key":"c2hvcnQ="}]"#, "{}"] {
            do {
                _ = try VSDMKeySet(json: Data(bad.utf8))
                Issue.record("accepted \(bad)")
            } catch {
                #expect(!error.description.contains(secret))
            }
        }
        #expect(try VSDMKeySet(json: VSDMKeySet.randomFile()).keys.count == 1)
        // Printing a key set names the keys, never their secrets.
        #expect(String(describing: keys) == "VSDMKeySet(B3)" && String(reflecting: keys.keys[0]).contains("redacted"))
        #expect(!String(describing: keys).contains(secret) && !String(reflecting: keys.keys[0]).contains(secret))
    }
}
