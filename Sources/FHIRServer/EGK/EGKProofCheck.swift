public import Dispensing
public import Foundation

/// Why a pharmacy's eGK proof was refused: rows 1–15 of fd-parity §1.3, each with the FD's
/// status and text (``ErrorSeam``).
public enum EGKRefusal: Error, Sendable, Hashable {
    /// 400 `No valid Telematik-ID in JWT`
    case telematikIDMissing
    /// 423 `TelematikId blocked for today.` (A_27446)
    case blockedForToday
    /// 455 (A_25208-01)
    case kvnrMissing
    /// 403 `Invalid Kvnr`
    case kvnrInvalid
    /// 457 (A_27346), only when enforced
    case hcvMissing
    /// 403 (A_22432-02)
    case pnwMissing
    /// 403 `Failed decoding PNW data.` (A_23450)
    case pnwUndecodable
    /// 403 `Failed parsing PNW XML.` (A_23450)
    case pnwInvalid
    /// 403 `Invalid size of Prüfziffer` (A_27279)
    case checkDigitSize
    /// 403 `Ungültiges Format der Prüfziffer.` (A_27279)
    case checkDigitFormat
    /// 403: no PZ and a result other than 3 (A_25206)
    case checkDigitMissing
    /// 403: v1 key unknown or HMAC wrong (A_23454, A_23456-01)
    case hmacFailed
    /// 403: v2 key unknown or not decryptable (A_27279)
    case decryptionFailed
    /// 400 `HCV Base64-Dekodierung fehlgeschlagen.` (A_27279)
    case hcvUndecodable
    /// 403 `eGK gesperrt` (A_27279)
    case cardRevoked
    /// 403: PZ time outside the validity (A_23451-01)
    case proofExpired
    /// 458 (A_27445)
    case hcvMismatch
    /// 456 (A_27279, A_27287)
    case kvnrMismatch
    /// 454 (A_25207)
    case pn3NotAccepted
    /// 403 `POPP-Token verification error.` (A_22432-02, A_26450, A_23399-01, A_23402-01)
    case poppInvalid
    /// 400 `Error during PoPP-Token processing.`
    case poppUnreadable
}

/// The PNW form's checks in the FD's order (fd-parity §1.3 rows 3–15; rows 1–2 need the caller
/// and the lock and are the route's). Pure: the query, the configuration and the time in, a
/// verdict out, with the audit event and the lock count the verdict asks for.
public struct EGKProofCheck: Sendable {
    /// The audit events of fd-parity §1.6.
    public enum Event: Sendable, Hashable {
        /// 26: success with a PZ.
        case withCheckDigit
        /// 28: the PZ's check failed (time, hcv, revocation).
        case checkFailed
        /// 30: accepted PN3.
        case offlineAccepted
        /// 31: refused PN3.
        case offlineRefused

        public var action: AuditEntry.Action {
            switch self {
            case .withCheckDigit: .egkList
            case .checkFailed: .egkListFailed
            case .offlineAccepted: .egkListOffline
            case .offlineRefused: .egkListOfflineRefused
            }
        }
    }

    public struct Recorded: Sendable, Hashable {
        public var event: Event
        public var kvnr: KVNR
    }

    public struct Verdict: Sendable, Hashable {
        /// The insurant whose tasks are listed, or the refusal.
        public var outcome: Result<KVNR, EGKRefusal>
        /// Whether it is a PN3 (answered 202).
        public var offline = false
        /// The event to record, and about whom (written on refusal too).
        public var event: Recorded?
        /// A failure the daily lock counts (A_27445: 458, and 456 of a v2 PZ).
        public var countsAsFailure = false

        init(_ outcome: Result<KVNR, EGKRefusal>) { self.outcome = outcome }
    }

    public var configuration: EGKRedemption

    public init(_ configuration: EGKRedemption) {
        self.configuration = configuration
    }

    /// `query` gives a parameter's (URL-decoded) value by name.
    public func check(query: (String) -> String?, now: Date) -> Verdict {
        func refuse(_ refusal: EGKRefusal) -> Verdict { Verdict(.failure(refusal)) }
        guard let kvnrText = query("kvnr") else { return refuse(.kvnrMissing) }
        guard let kvnr = KVNR(kvnrText) else { return refuse(.kvnrInvalid) }
        let hcvText = query("hcv")
        if configuration.enforceHCV && hcvText == nil { return refuse(.hcvMissing) }
        guard let pnw = query("pnw") ?? query("PNW"), !pnw.isEmpty else { return refuse(.pnwMissing) }
        let document: ProofOfPresence
        do {
            // A `+` the client did not escape arrives as a space.
            document = try ProofOfPresence.decode(pnw: pnw.replacingOccurrences(of: " ", with: "+"))
        } catch .undecodable {
            return refuse(.pnwUndecodable)
        } catch {
            return refuse(.pnwInvalid)
        }
        guard let digitText = document.checkDigit else {
            // A_25206, A_25207: the PN3 path (decided by the absence of the PZ, as the FD does).
            guard document.result == 3 else { return refuse(.checkDigitMissing) }
            var verdict = Verdict(configuration.acceptPN3 ? .success(kvnr) : .failure(.pn3NotAccepted))
            verdict.offline = true
            verdict.event = Recorded(event: configuration.acceptPN3 ? .offlineAccepted : .offlineRefused, kvnr: kvnr)
            return verdict
        }
        let digit: VSDMCheckDigit
        do {
            digit = try VSDMCheckDigit.parse(digitText)
        } catch .invalidSize {
            return refuse(.checkDigitSize)
        } catch {
            return refuse(.checkDigitFormat)
        }
        let seconds = Int64(now.timeIntervalSince1970)
        func inTime(_ issuedAt: Int64?) -> Bool {
            guard let issuedAt else { return false }
            return abs(issuedAt - seconds) <= Int64(configuration.validitySeconds)
        }
        var verdict: Verdict
        switch digit {
        case .v1(let proof):
            guard proof.verify(configuration.keys) else { return refuse(.hmacFailed) }
            guard inTime(proof.issuedAt) else {
                verdict = refuse(.proofExpired)
                verdict.event = KVNR(proof.kvnr).map { Recorded(event: .checkFailed, kvnr: $0) }
                return verdict
            }
            guard proof.kvnr == kvnr.rawValue else { return refuse(.kvnrMismatch) }
        case .v2(let proof):
            guard let content = proof.decrypt(configuration.keys) else { return refuse(.decryptionFailed) }
            var sentHCV: [UInt8]?
            if let hcvText {
                guard let bytes = Base64Text.decode(hcvText) else { return refuse(.hcvUndecodable) }
                sentHCV = bytes
            }
            let failure: EGKRefusal? = if content.revoked { .cardRevoked } else if !inTime(content.issuedAt) { .proofExpired }
                else if let sentHCV, sentHCV != content.hcv { .hcvMismatch } else { nil }
            if let failure {
                verdict = refuse(failure)
                verdict.event = KVNR(content.kvnr).map { Recorded(event: .checkFailed, kvnr: $0) }
                verdict.countsAsFailure = failure == .hcvMismatch
                return verdict
            }
            guard content.kvnr == kvnr.rawValue else {
                verdict = refuse(.kvnrMismatch)
                verdict.countsAsFailure = true
                return verdict
            }
        }
        verdict = Verdict(.success(kvnr))
        verdict.event = Recorded(event: .withCheckDigit, kvnr: kvnr)
        return verdict
    }
}
