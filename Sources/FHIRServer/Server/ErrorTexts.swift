public import Dispensing
import HTTPTypes

extension ErrorSeam {
    /// Where an error arose. The production service raises the same fact with a different text per
    /// operation (each of its handlers words its own checks), so the seam needs to know which.
    public enum Site: Sendable, Hashable {
        case create, activate, accept, dispense, close, reject, abort
        /// `GET /Task/{id}`.
        case taskRead
        case other

        init(_ route: Route) {
            switch route.interaction {
            case .operation("create"): self = .create
            case .operation("activate"): self = .activate
            case .operation("accept"): self = .accept
            case .operation("dispense"): self = .dispense
            case .operation("close"): self = .close
            case .operation("reject"): self = .reject
            case .operation("abort"): self = .abort
            default: self = route.method == .get && route.path == "/Task/{id}" ? .taskRead : .other
            }
        }
    }
}

/// The production service's texts that differ by operation, each with the handler it comes from
/// (IBM `erp/service/task/*Handler.cxx`, 1.22.0-6; fd-parity §0).
enum ErrorTexts {
    static func taskNotFound(at site: ErrorSeam.Site) -> String {
        switch site {
        case .activate: "Requested Task not found in DB"  // ActivateTaskHandler
        case .taskRead: "Task not found in DB"  // GetTaskHandler::checkTaskState
        default: "Task not found for prescription id"
        }
    }

    static func secretMismatch(at site: ErrorSeam.Site) -> String {
        switch site {
        case .reject: "No or invalid secret"  // RejectTaskHandler
        case .abort, .taskRead: "No or invalid secret provided for user pharmacy"  // AbortTaskHandler, GetTaskHandler
        default: "No or invalid secret provided for Task"  // DispenseTaskHandler, CloseTaskHandler
        }
    }

    static func telematikIDMissing(at site: ErrorSeam.Site) -> String {
        switch site {
        case .dispense, .close: "Telematik-ID not contained in JWT"
        default: "Missing Telematik-ID in ACCESS_TOKEN"  // AcceptTaskHandler, GetTaskHandler
        }
    }

    /// The status check of each operation; `$abort` has one per kind of caller, told apart by the
    /// statuses the rule admits (`TaskRules.abort`).
    static func wrongStatus(_ current: TaskStatus, required: Set<TaskStatus>, at site: ErrorSeam.Site) -> String {
        let status = current.rawValue
        switch site {
        case .activate: return "Task not in status draft but in status \(status)"
        case .dispense: return "Task not in-progress."  // A_24298
        case .close: return "Task has to be in progress, but is: \(status)"  // A_19231-02
        case .reject: return "Task not in status in progress, is: \(status)"  // A_19171-03
        case .abort where required == [.inProgress]: return "Task must be in progress for user pharmacy, is: \(status)"  // A_19146
        case .abort where required == [.ready]: return "Task must be ready for doctor, but is: \(status)"  // A_19120-03
        case .abort where required == [.completed]:
            return "Abort for patient in workflow types 169 / 209 only allowed for completed Task"  // A_22102-01
        case .abort: return "Task must not be in progress for users other than pharmacy, but is: \(status)"  // A_19145-01
        default:
            // Ours: no FD operation raises this elsewhere.
            let admitted = TaskStatus.allCases.filter(required.contains).map(\.rawValue).joined(separator: " or ")
            return "Task has invalid status \(status); the operation needs \(admitted)."
        }
    }

    /// `VauRequestHandler::processException` (the JWT exceptions) and `handleInnerRequest`.
    static func unauthenticated(_ failure: AuthenticationFailure) -> String {
        switch failure {
        case .missingHeader: "Authorization header is missing"
        case .notBearer: "invalid Authorization Bearer header field"
        case .malformedToken: "JWT has invalid format"
        case .invalidSignature: "JWT has invalid signature"
        case .expired: "JWT expired"
        case .invalidAudience: "JWT has invalid aud claim"
        }
    }

    /// `2026-12-31` → `31.12.2026` (`Timestamp::toGermanDateFormat`); anything else as it is.
    static func germanDate(_ date: String) -> String {
        let parts = date.split(separator: "-")
        guard parts.count == 3 else { return date }
        return "\(parts[2]).\(parts[1]).\(parts[0])"
    }
}
