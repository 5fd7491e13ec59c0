import AsyncHTTPClient
import Dispensing
import Foundation
import Logging

/// One insurant's due transfers, sent in order, and what the relay settles for each answer
/// (dispense-spec.md §5.3, the production exporter's outcome table in §5.4). Consecutive transfers
/// of one operation go together, up to ``RegistryConfiguration/transfersPerCall`` in one call
/// (A_25956); an answer to a call answers for each transfer in it.
struct TransferDispatch: Sendable {
    let client: RegistryHTTPClient
    let consent: ConsentCache
    let clock: any WallClock
    let logger: Logger

    /// Stops at the first transfer that must wait: later ones of the insurant never overtake it.
    /// A worker cancelled by shutdown settles what was answered and leaves the rest pending, as it
    /// was: a cancelled request is no failed attempt.
    ///
    /// `objections` is the insurant's consent state as the relay read it when it started serving them (``ConsentCache``), or the
    /// error that kept the registry from being asked.
    func serve(_ entries: [OutboxEntry], objections consentState: Result<[Objection], any Error>) async -> [OutboxSettlement] {
        guard let head = entries.first, let last = entries.last else { return [] }
        let configuration = client.configuration
        // Consent first (A_25951-01): an objection drops the insurant's queue for good.
        do {
            let objections = try consentState.get()
            if let objection = objections.first {
                return [.drop(head.kvnr, through: last.id, reason: "objection (\(objection.source.rawValue), \(objection.category.rawValue))", objection: nil)]
            }
        } catch RegistryHTTPClient.LookupFailure.unavailable(status: 404) {
            // No health record in any record system (A_25950): nothing of theirs can be delivered.
            return [.drop(head.kvnr, through: last.id, reason: "consent lookup answered 404 (no health record)", objection: nil)]
        } catch {
            if Self.isCancellation(error) { return [] }
            // The information service is not answering (A_25942): hold the insurant, counting no
            // attempt against their transfers, which are not at fault.
            let until = clock.now().addingTimeInterval(configuration.backoff(afterAttempts: 1, unit: Double.random(in: 0...1)).seconds)
            return [.pause(head.kvnr, until: until, reason: "consent lookup failed: \(Self.describe(error))")]
        }
        var settlements: [OutboxSettlement] = []
        var next = entries.startIndex
        // Entries before this index go one call each: a joined call of them was not answered with
        // a confirmation of each (any failure but 404 and 423, which concern the person), and only
        // a call of one says for which transfer an answer holds. A joined call is never counted as
        // an attempt: the transfers' own calls are.
        var singlyUntil = entries.startIndex
        while next < entries.endIndex {
            let head = entries[next]
            let limit = next < singlyUntil ? 1 : max(1, configuration.transfersPerCall)
            let run = Array(entries[next...].prefix(limit).prefix { $0.operation == head.operation })
            if run.count > 1 {
                let answer: RegistryHTTPClient.TransferAnswer?
                do {
                    answer = try await client.send(run, timeout: configuration.requestTimeout)
                } catch {
                    if Self.isCancellation(error) { return settlements }
                    answer = nil
                }
                if let answer {
                    if (200..<300).contains(answer.status), answer.confirmsEach {
                        settlements.append(contentsOf: run.map { .sent($0.id) })
                        next += run.count
                        continue
                    }
                    if answer.status == 404 || answer.status == 423 {
                        return settlements + [await settle(answer, for: head, through: last)]
                    }
                }
                // Not joinable (`nil` without an error), or answered otherwise: one by one.
                singlyUntil = next + run.count
                continue
            }
            let answer: RegistryHTTPClient.TransferAnswer
            do {
                answer = try await client.send(head, timeout: configuration.requestTimeout)
            } catch {
                if !Self.isCancellation(error) { settlements.append(retryOrDead(head, reason: Self.describe(error))) }
                return settlements
            }
            settlements.append(await settle(answer, for: head, through: last))
            // Sent, or (400) set aside for good: the next one follows. Anything else makes it wait.
            guard (200..<300).contains(answer.status) || answer.status == 400 else { return settlements }
            next += 1
        }
        return settlements
    }

    /// What one call's answer settles: for the transfer (`head`) or, for 404, 409 and 423, for the
    /// person's queue through `last`.
    private func settle(_ answer: RegistryHTTPClient.TransferAnswer, for head: OutboxEntry, through last: OutboxEntry) async -> OutboxSettlement {
        let configuration = client.configuration
        switch answer.status {
        case 200..<300:
            switch answer.refusal {
            case nil:
                return .sent(head.id)
            case "MEDSVC_PRESCRIPTION_NO_EXIST", "MEDSVC_PRESCRIPTION_STATUS":
                // The record does not hold the prescription, or not in a state for this: sending
                // again changes nothing and no operator can mend it (the production exporter
                // treats it as done, with the failure audited).
                return .refused(head.id, reason: "registry refused: \(answer.refusal ?? "")")
            case let code?:
                return .deadLetter(head.id, reason: "registry refused: \(code)")
            }
        case 400:
            // The registry will never accept this payload: keep it for an operator, go on.
            return .deadLetter(head.id, reason: "registry answered 400 \(answer.errorCode ?? "")")
        case 404:
            return .drop(head.kvnr, through: last.id, reason: "registry answered 404 (no health record)", objection: nil)
        case 409:
            let until = clock.now().addingTimeInterval(configuration.conflictPause.seconds)
            return .pause(head.kvnr, until: until, reason: "registry answered 409 \(answer.errorCode ?? "")")
        case 423:
            let objection = Objection(kvnr: head.kvnr, category: .medication, source: .registryLocked, since: clock.now())
            try? await consent.recordLocked(objection)
            return .drop(head.kvnr, through: last.id, reason: "registry answered 423 locked", objection: objection)
        default:
            return retryOrDead(head, reason: "registry answered \(answer.status)")
        }
    }

    /// A passing failure: again after the back-off, or to the dead letters once attempts run out.
    private func retryOrDead(_ entry: OutboxEntry, reason: String) -> OutboxSettlement {
        let configuration = client.configuration
        let attempts = entry.attempts + 1
        guard attempts < configuration.maximumAttempts else {
            return .deadLetter(entry.id, reason: "\(reason) (gave up after \(attempts) attempts)")
        }
        let wait = configuration.backoff(afterAttempts: attempts, unit: Double.random(in: 0...1))
        return .retry(entry.id, at: clock.now().addingTimeInterval(wait.seconds), reason: reason)
    }

    static func isCancellation(_ error: any Error) -> Bool {
        if error is CancellationError { return true }
        if let error = error as? HTTPClientError, error == .cancelled { return true }
        return Task.isCancelled
    }

    /// An error for the transfer log: its kind, never a payload.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "HTTP client: \(error)" }
        return String(describing: type(of: error))
    }
}
