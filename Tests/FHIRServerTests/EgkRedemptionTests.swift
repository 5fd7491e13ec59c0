import Crypto
import Dispensing
import FHIRFormats
import FHIRModel
import FHIRServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import StoreTestSupport
import Testing

/// A pharmacy's `GET /Task?kvnr&pnw&hcv` over a real socket (issue 24; fd-parity §1): each row
/// of the check table §1.3 with its status and text, the daily lock, PN3, the answer, the audit.
@Suite struct EgkRedemptionTests {
    static let kvnr = TestServer.kvnr
    static let exampleHCV = HealthCareValidation.hcv(insuranceStart: "20180111", street: "Beispielstrasse")
    static let presence = "Anwesenheitsnachweis konnte nicht erfolgreich durchgeführt werden"

    struct Harness {
        let client: Client
        let factory: TaskFactory
        let pharmacy: String
        let insurant: String

        /// `GET /Task` as the pharmacy with `query` (already encoded).
        func get(_ query: String, token: String? = nil) async throws -> Reply {
            try await client.send(.get, "/Task?\(query)", token: token ?? pharmacy)
        }

        /// The German texts of the insurant's eGK audit events (26, 28, 30, 31), oldest first.
        func auditTexts(_ language: String = "de") async throws -> [String] {
            let bundle = try await client.send(.get, "/AuditEvent", token: insurant, headers: [.acceptLanguage: language]).resource()
            return InsurantReadTests.entries(bundle).compactMap { $0.resource.descendant("text", "div")?.value }
                .map { $0.replacingOccurrences(of: "<[^>]+>", with: "", options: .regularExpression) }
                .filter { $0.contains("eGK") || $0.contains("health card") || $0.contains("Autorisierung") }
        }
    }

    /// A fresh server on loopback with the test key set; `configure` adjusts the eGK settings.
    func live(_ kind: StoreKind = .sqlite, _ format: WireFormat = .json, configure: @Sendable (inout EGKRedemption) -> Void = { _ in },
              _ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        var server = try await TestServer(store: kind)
        var egk = EGKRedemption(keys: EgkProofTests.keys)
        configure(&egk)
        server.env.egk = egk
        let configured = server
        defer { Task { await configured.remove() } }
        let app = Application(router: configured.router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let client = Client(client: client, format: format, server: configured)
            let pharmacy = try await configured.token(.publicPharmacy, id: TestServer.pharmacyTelematikID, organizationName: "Adler-Apotheke")
            let insurant = try await configured.token(.insurant, id: Self.kvnr)
            try await body(Harness(client: client, factory: try await TaskFactory(client: client), pharmacy: pharmacy, insurant: insurant))
        }
    }

    /// A proof as a Konnektor hands it over, made with the test key: `version` 1 or 2 of the PZ,
    /// `nil` for none (a PN3 when `result` is 3). Returns the query `kvnr=…&pnw=…&hcv=…`.
    static func query(version: Int? = 2, kvnr: String = kvnr, proofKVNR: String? = nil, time: Date = Date(), revoked: Bool = false,
                      result: Int = 1, operatorID: Character = "A", secret: SymmetricKey = EgkProofTests.key,
                      hcv: String? = HealthCareValidation.text(exampleHCV), checkDigit: String? = nil) -> String {
        let digit: String? = checkDigit ?? version.flatMap { version in
            version == 1
                ? VSDMCheckDigit.makeV1(kvnr: proofKVNR ?? kvnr, time: time, operatorID: operatorID, version: "1", secret: secret)
                : VSDMCheckDigit.makeV2(kvnr: proofKVNR ?? kvnr, hcv: exampleHCV, revoked: revoked, time: time, operatorID: operatorID,
                                        version: "1", secret: secret)
        }
        let pnw = ProofOfPresence(timestamp: "20261207120000", result: result, checkDigit: digit).pnw() ?? ""
        return "kvnr=\(kvnr)&pnw=\(encode(pnw))" + (hcv.map { "&hcv=\(encode($0))" } ?? "")
    }

    static func encode(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value }

    /// The answer's status, issue code and text.
    static func refusal(_ reply: Reply) throws -> (status: Int, code: String?, text: String?) {
        let outcome = try reply.resource()
        return (reply.status.code, outcome.child("issue")?.value(of: "code"), outcome.child("issue")?.child("details")?.value(of: "text"))
    }

    static func expect(_ reply: Reply, _ status: Int, _ text: String, _ code: String = "forbidden", sourceLocation: SourceLocation = #_sourceLocation) throws {
        let answer = try refusal(reply)
        #expect(answer.status == status, sourceLocation: sourceLocation)
        #expect(answer.code == code, sourceLocation: sourceLocation)
        #expect(answer.text == text, sourceLocation: sourceLocation)
    }

    /// Row 1: the lock needs the Telematik-ID.
    @Test func row1_tokenWithoutTelematikIDIs400() async throws {
        try await live { h in
            let token = try await h.client.server.token(.publicPharmacy, id: nil)
            try Self.expect(try await h.get(Self.query(), token: token), 400, "No valid Telematik-ID in JWT", "invalid")
        }
    }

    /// A_21558-02: roles other than insurant and pharmacies stay refused.
    @Test func A_21558_02_doctorsMayNotListTasks() async throws {
        try await live { h in
            let reply = try await h.get(Self.query(), token: h.factory.doctor)
            #expect(reply.status == .forbidden)
        }
    }

    /// Rows 3–6: A_25208-01 (455), KVNR format (403), A_27346 (457 when enforced), A_22432-02 (403).
    @Test func rows3to6_A_25208_01_A_27346_A_22432_02_parameters() async throws {
        try await live(configure: { $0.enforceHCV = true }) { h in
            try Self.expect(try await h.get("pnw=x&hcv=y"), 455, "Ein Prüfnachweis ohne KVNR wird nicht akzeptiert.")
            try Self.expect(try await h.get("kvnr=X23456789&pnw=x"), 403, "Invalid Kvnr")
            try Self.expect(try await h.get("kvnr=\(Self.kvnr)&pnw=x"), 457, "Ein Prüfnachweis ohne HCV wird nicht akzeptiert.")
            try Self.expect(try await h.get("kvnr=\(Self.kvnr)&hcv=F9ZD7cI"), 403, "Missing or invalid PNW query parameter and X-PoPP-Token header")
            try Self.expect(try await h.get("kvnr=\(Self.kvnr)&hcv=F9ZD7cI&pnw="), 403, "Missing or invalid PNW query parameter and X-PoPP-Token header")
        }
        // Without enforcement (the FD's production setting) a v2 proof without hcv passes.
        try await live { h in
            let reply = try await h.get(Self.query(hcv: nil))
            #expect(reply.status == .ok)
        }
    }

    /// Row 7, A_23450, A_27279: decoding, schema, PZ size and format.
    @Test func row7_A_23450_undecodableOrInvalidProofsAre403() async throws {
        try await live { h in
            let kvnr = "kvnr=\(Self.kvnr)"
            try Self.expect(try await h.get("\(kvnr)&pnw=bm90IGd6aXA%3D"), 403, "Failed decoding PNW data.")
            // A gzip bomb (1 MiB of blanks in about 1 KB) is refused once the inflated PN passes 64 KB.
            let bomb = Self.encode(Data(Gzip.deflate([UInt8](repeating: 0x20, count: 1 << 20)) ?? []).base64EncodedString())
            try Self.expect(try await h.get("\(kvnr)&pnw=\(bomb)"), 403, "Failed decoding PNW data.")
            let notPN = Self.encode(Data(Gzip.deflate(Array("<Other/>".utf8)) ?? []).base64EncodedString())
            try Self.expect(try await h.get("\(kvnr)&pnw=\(notPN)"), 403, "Failed parsing PNW XML.")
            try Self.expect(try await h.get(Self.query(checkDigit: String(repeating: "A", count: 60))), 403, "Invalid size of Prüfziffer")
            let neither = Data([UInt8(ascii: "1")] + [UInt8](repeating: 0, count: 46)).base64EncodedString()
            try Self.expect(try await h.get(Self.query(checkDigit: neither)), 403, "Ungültiges Format der Prüfziffer.")
            // The upper-case fallback name of the FD.
            let upper = Self.query().replacingOccurrences(of: "pnw=", with: "PNW=")
            #expect(try await h.get(upper).status == .ok)
        }
    }

    /// Row 8, A_25206: no PZ and a result other than 3.
    @Test func row8_A_25206_noCheckDigitWithResult1Is403() async throws {
        try await live { h in
            try Self.expect(try await h.get(Self.query(version: nil, result: 1)), 403,
                            "\(Self.presence) (Prüfziffer fehlt im VSDM Prüfungsnachweis oder ungültiges Ergebnis im Prüfungsnachweis).")
        }
    }

    /// Rows 9a/9b, A_23456-01, A_27279: unknown key or wrong secret.
    @Test func row9_A_23456_01_A_27279_unknownKeyOrWrongSecretIs403() async throws {
        try await live { h in
            let hmac = "\(Self.presence) (Fehler bei Prüfung der HMAC-Sicherung)."
            let decrypt = "\(Self.presence) (VSDM Schlüssel nicht vorhanden oder Inhalte nicht entschlüsselbar)."
            try Self.expect(try await h.get(Self.query(version: 1, operatorID: "B")), 403, hmac)
            try Self.expect(try await h.get(Self.query(version: 1, secret: SymmetricKey(size: .bits256))), 403, hmac)
            try Self.expect(try await h.get(Self.query(version: 2, operatorID: "B")), 403, decrypt)
            try Self.expect(try await h.get(Self.query(version: 2, secret: SymmetricKey(size: .bits256))), 403, decrypt)
        }
    }

    /// Rows 10–13, A_27279, A_23451-01, A_27445: hcv decoding (400), revoked card, time, hcv
    /// mismatch (458); 28 is written for the last three.
    @Test func rows10to13_A_27279_A_23451_01_A_27445_v2Checks() async throws {
        try await live { h in
            try Self.expect(try await h.get(Self.query(hcv: "!!!")), 400, "HCV Base64-Dekodierung fehlgeschlagen.", "invalid")
            try Self.expect(try await h.get(Self.query(revoked: true)), 403, "eGK gesperrt")
            let expired = "\(Self.presence) (Zeitliche Gültigkeit des Anwesenheitsnachweis überschritten)."
            try Self.expect(try await h.get(Self.query(time: Date().addingTimeInterval(-1900))), 403, expired)
            try Self.expect(try await h.get(Self.query(time: Date().addingTimeInterval(1900))), 403, expired)
            try Self.expect(try await h.get(Self.query(version: 1, time: Date().addingTimeInterval(-1900))), 403, expired)
            let other = HealthCareValidation.text(HealthCareValidation.hcv(insuranceStart: "20180111", street: "Hauptstrasse"))
            try Self.expect(try await h.get(Self.query(hcv: other)), 458, "HCV Validierung fehlgeschlagen.")
            let failed = "Adler-Apotheke konnte aufgrund eines Fehlerfalls nicht die Liste der offenen E-Rezepte mit Ihrer eGK abrufen."
            #expect(try await h.auditTexts() == Array(repeating: failed, count: 5))
        }
    }

    /// Row 14, A_27279, A_27287: the URL's KVNR against the PZ's (456), v1 and v2.
    @Test func row14_A_27287_kvnrMismatchIs456() async throws {
        try await live { h in
            for version in [1, 2] {
                try Self.expect(try await h.get(Self.query(version: version, proofKVNR: "X999999999")), 456, "KVNR Überprüfung fehlgeschlagen.")
            }
            #expect(try await h.auditTexts().isEmpty, "no event for a KVNR mismatch")
        }
    }

    /// Row 15, A_25207, A_25209-01: PN3 is 454 (event 31) unless accepted, then 202 (event 30).
    @Test(arguments: [WireFormat.json, .xml])
    func row15_A_25207_A_25209_01_pn3(format: WireFormat) async throws {
        try await live(.sqlite, format) { h in
            let ready = try await h.factory.prepare(.ready)
            try Self.expect(try await h.get(Self.query(version: nil, result: 3)), 454,
                            "Es wird kein Prüfnachweis mit Ergebnis 3 (ohne Prüfziffer) akzeptiert.")
            #expect(try await h.auditTexts() == [
                "Adler-Apotheke konnte aufgrund eines Fehlerfalls nicht die Liste der offenen E-Rezepte mit Ihrer eGK abrufen. (Offline-Check wurde nicht akzeptiert)",
            ])
            #expect(try await h.auditTexts("en") == [
                "Adler-Apotheke was not able to retrieve your e-prescriptions due to an error with your health card. (Offline-Check was not accepted)",
            ])
            _ = ready
        }
        try await live(.sqlite, format, configure: { $0.acceptPN3 = true }) { h in
            let ready = try await h.factory.prepare(.ready)
            let reply = try await h.get(Self.query(version: nil, result: 3))
            #expect(reply.status == .accepted)
            #expect(InsurantReadTests.entries(try reply.resource()).map { $0.resource.value(of: "id") } == [ready.id])
            #expect(try await h.auditTexts() == [
                "Adler-Apotheke hat mit Ihrer eGK die Liste der offenen E-Rezepte abgerufen. (Offline-Check wurde akzeptiert)",
            ])
            #expect(try await h.auditTexts("en") == [
                "Adler-Apotheke retrieved your dispensable e-prescriptions using your health card. (Offline-Check get accepted)",
            ])
        }
    }

    /// Row 2, A_27445, A_27446: 458 and v2's 456 count, v1's 456 does not; at the limit every
    /// request of that pharmacy is 423 first, others are not affected.
    @Test func row2_A_27446_dailyLock() async throws {
        try await live(configure: { $0.lock = PharmacyDailyLock(limit: 3) }) { h in
            let other = HealthCareValidation.text(HealthCareValidation.hcv(insuranceStart: "19990101", street: "Weg"))
            for _ in 0..<5 { #expect(try await h.get(Self.query(version: 1, proofKVNR: "X999999999")).status.code == 456) }
            #expect(try await h.get(Self.query()).status == .ok)
            #expect(try await h.get(Self.query(proofKVNR: "X999999999")).status.code == 456)
            #expect(try await h.get(Self.query(proofKVNR: "X999999999")).status.code == 456)
            #expect(try await h.get(Self.query(hcv: other)).status.code == 458)
            try Self.expect(try await h.get(Self.query()), 423, "TelematikId blocked for today.")
            try Self.expect(try await h.get("pnw=x"), 423, "TelematikId blocked for today.")
            let second = try await h.client.server.token(.publicPharmacy, id: TestServer.otherPharmacyTelematikID)
            #expect(try await h.get(Self.query(), token: second).status == .ok)
        }
    }

    @Test func theLockResetsAtMidnightUTC() {
        let lock = PharmacyDailyLock(limit: 1)
        let evening = Date(timeIntervalSince1970: 1_796_601_599)  // 23:59:59 UTC
        lock.recordFailure("3-x", now: evening)
        #expect(lock.isBlocked("3-x", now: evening))
        #expect(!lock.isBlocked("3-x", now: evening.addingTimeInterval(1)))
    }

    /// A_23452-04, A_22431-02, §1.5: ready, unexpired 160 tasks of that KVNR only, with the
    /// AccessCode and without Secret; links keep the proof; event 26. On both stores, JSON and XML.
    @Test(arguments: StoreKind.allCases, [WireFormat.json, .xml])
    func A_23452_04_theAnswerListsRedeemableTasksOfThatInsurant(kind: StoreKind, format: WireFormat) async throws {
        try await live(kind, format) { h in
            let first = try await h.factory.prepare(.ready)
            let second = try await h.factory.prepare(.ready)
            _ = try await h.factory.prepare(.ready, flowType: 169)
            _ = try await h.factory.prepare(.inProgress)
            _ = try await h.factory.prepare(.cancelled)
            _ = try await h.factory.prepare(.ready, kvnr: "X111111111")
            let old = CalendarDate.adding(months: -4, to: CalendarDate.day(of: Date())) ?? "2026-01-01"
            _ = try await h.factory.prepare(.ready) { id, kvnr in Bodies.prescription(id: id, kvnr: kvnr, authoredOn: old) }
            for version in [1, 2] {
                let query = Self.query(version: version)
                let reply = try await h.get(query + "&_count=1")
                #expect(reply.status == .ok)
                let bundle = try reply.resource()
                #expect(bundle.value(of: "type") == "searchset")
                #expect(bundle.value(of: "total") == "2")
                #expect(bundle.child("meta") == nil)
                let entries = InsurantReadTests.entries(bundle)
                #expect(entries.map { $0.resource.value(of: "id") } == [first.id])
                #expect(entries.allSatisfy { $0.fullUrl == "http://erx.test/Task/\($0.resource.value(of: "id") ?? "")" })
                #expect(InsurantReadTests.identifierValue(entries[0].resource, Systems.accessCode) == first.accessCode)
                #expect(InsurantReadTests.identifierValue(entries[0].resource, Systems.secret) == nil)
                let links = InsurantReadTests.links(bundle)
                let next = try #require(links["next"])
                #expect(next.contains("kvnr=\(Self.kvnr)") && next.contains("pnw=") && next.contains("hcv=") && next.contains("__offset=1"))
                let page = try await h.client.send(.get, String(next.dropFirst("http://erx.test".count)), token: h.pharmacy)
                #expect(InsurantReadTests.entries(try page.resource()).map { $0.resource.value(of: "id") } == [second.id])
            }
            let listed = "Adler-Apotheke hat mit Ihrer eGK die Liste der offenen E-Rezepte abgerufen."
            #expect(try await h.auditTexts() == Array(repeating: listed, count: 4))
            #expect(try await h.auditTexts("en").first == "Adler-Apotheke retrieved your dispensable e-prescriptions using your health card.")
            // The tasks are unchanged: still ready.
            let mine = try await h.client.send(.get, "/Task?status=ready", token: h.insurant).resource()
            #expect(mine.value(of: "total") == "4")
        }
    }
}
