import ArgumentParser
import Foundation

/// Every `erx serve` option also comes from an environment variable, as operators expect:
/// `--max-body-bytes 1000` is `ERX_MAX_BODY_BYTES=1000`, a flag is set by `ERX_ACCEPT_UNSIGNED=1`
/// (or `true`), and the repeatable `--profiles` takes a `:`-separated list. What the command line
/// says wins. The variables become arguments before parsing, so validation and help are the same
/// for both.
enum ServeEnvironment {
    /// The long names of `serve`'s options that take a value. A test checks this list against the
    /// command's help, so an option cannot be added without its variable.
    static let options = [
        "host", "port", "data", "auth", "trust-anchors", "receipt-key", "receipt-certificate", "profiles", "kbv-versions", "anr-checksum-validation", "discharge-validity-workdays", "base-url", "objection-response",
        "rules",
        "communication-payload-v3-from",
        "registry", "consent-ttl", "consent-budget-ms", "registry-timeout-ms", "relay-backoff-ms", "relay-max-attempts",
        "relay-conflict-pause", "relay-poll-ms", "relay-transfers-per-call", "relay-call-hold-ms",
        "relay-lease-ms",
        "webhook-timeout-ms", "webhook-backoff-ms", "webhook-max-attempts", "webhook-poll-ms", "webhook-lease-ms", "webhook-concurrency",
        "bfarm-url", "bfarm-timeout-ms", "bfarm-backoff-ms", "bfarm-max-attempts", "bfarm-poll-ms", "bfarm-lease-ms",
        "database", "database-password-file", "database-pool-size", "database-timeout-ms",
        "max-body-bytes", "max-elements", "max-repeats", "large-body-bytes", "idle-timeout", "header-timeout",
        "body-read-timeout", "max-connections", "max-header-bytes", "token-clock-skew", "token-max-lifetime",
        "token-audience", "token-rate-limit", "token-rate-window-ms",
        "vsdm-keys", "vsdm-validity-seconds", "egk-daily-failure-limit", "popp-jwks", "popp-issuer",
        "subscription-signing-key", "subscription-pseudonym-key", "websocket-path", "websocket-max-per-subscription",
        "websocket-max-connections",
        "transport", "vau-key", "vau-certificate", "vau-ocsp-response",
    ]
    static let flags = ["accept-unsigned", "accept-pn3", "enforce-hcv"]
    static let repeatable: Set<String> = ["profiles"]

    /// Variables whose name is not the option's: `--database` is a URL, and operators know the
    /// variable by that (`ERX_DATABASE_URL`, as `DATABASE_URL` elsewhere).
    static let renamed = ["database": "ERX_DATABASE_URL"]

    static func variable(_ option: String) -> String {
        renamed[option] ?? "ERX_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// `arguments` (after `serve`) with an argument added for each variable set whose option the
    /// command line does not give.
    static func merged(_ arguments: [String], environment: [String: String]) -> [String] {
        let given = Set(arguments.compactMap { argument -> String? in
            guard argument.hasPrefix("--") else { return nil }
            return String(argument.dropFirst(2).prefix { $0 != "=" })
        })
        var result = arguments
        for option in options where !given.contains(option) {
            guard let value = environment[variable(option)], !value.isEmpty else { continue }
            let values = repeatable.contains(option) ? value.split(separator: ":").map(String.init) : [value]
            // One argument each, `--option=value`: a value may start with `-`.
            for value in values { result.append("--\(option)=\(value)") }
        }
        for flag in flags where !given.contains(flag) {
            if let value = environment[variable(flag)]?.lowercased(), ["1", "true", "yes"].contains(value) { result.append("--\(flag)") }
        }
        return result
    }
}
