import ArgumentParser
import FHIRServer
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `erx serve`'s limits on what one request, one connection and one token may do (issue 19).
struct HardeningOptions: ParsableArguments {
    @Option(help: "Largest request body in bytes; a larger declared Content-Length is answered 413 at once.")
    var maxBodyBytes = RequestLimits().maximumBodyBytes

    @Option(help: "Most elements one body may hold (400 too-costly beyond).")
    var maxElements = RequestLimits().maximumElements

    @Option(help: "Most repeats of one element in one parent (400 too-costly beyond).")
    var maxRepeats = RequestLimits().maximumRepeats

    @Option(help: "Bodies that may be larger than this (bytes) are read only after the checks that need no body, and parsed on the large-body lane.")
    var largeBodyBytes = RequestLimits().largeBodyBytes

    @Option(help: "Seconds a keep-alive connection may sit idle between requests.")
    var idleTimeout: Double = 60

    @Option(help: "Seconds from a request's first byte to the end of its header.")
    var headerTimeout: Double = 10

    @Option(help: "Seconds the longest pause in a request body may last.")
    var bodyReadTimeout: Double = 10

    @Option(help: "Most connections open at once (503 beyond); capped below the open-files limit.")
    var maxConnections = ConnectionLimits().maximumConnections

    @Option(help: "Largest request header in bytes (all fields).")
    var maxHeaderBytes = ConnectionLimits().maximumHeaderBytes

    @Option(help: "Seconds a token's iat or nbf may lie in the future.")
    var tokenClockSkew: Double = TokenPolicy().clockSkew

    @Option(help: "Longest token lifetime in seconds (exp - iat).")
    var tokenMaxLifetime: Double = TokenPolicy().maximumLifetime

    @Option(help: "The aud a token must carry, exactly (the FD's registered URI, A_20370); default: any.")
    var tokenAudience: String?

    @Option(help: "Most requests per --token-rate-window-ms of one token sub (A_19992; the FD: 200); the call beyond blocks that sub until its token expires (429). 0: no limit. Counted per instance.")
    var tokenRateLimit = TokenRateLimit().calls

    @Option(help: "The window of --token-rate-limit in milliseconds (the FD: 1000).")
    var tokenRateWindowMs = Int(TokenRateLimit().window * 1000)

    func validate() throws {
        let seconds = [idleTimeout, headerTimeout, bodyReadTimeout, tokenClockSkew, tokenMaxLifetime]
        guard seconds.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 31_536_000 }) else {
            throw ValidationError("timeouts, skew and lifetime must be seconds from 0 to one year")
        }
        let counts = [maxBodyBytes, maxElements, maxRepeats, largeBodyBytes, maxConnections, maxHeaderBytes]
        guard counts.allSatisfy({ $0 > 0 && $0 <= 1 << 40 }) else { throw ValidationError("limits must be positive") }
        guard tokenRateLimit >= 0, tokenRateWindowMs > 0, tokenRateWindowMs <= 86_400_000 else {
            throw ValidationError("--token-rate-limit must be 0 or more, --token-rate-window-ms from 1 to one day")
        }
    }

    var requestLimits: RequestLimits {
        RequestLimits(maximumBodyBytes: maxBodyBytes, maximumElements: maxElements, maximumRepeats: maxRepeats, largeBodyBytes: largeBodyBytes)
    }

    var tokenPolicy: TokenPolicy { TokenPolicy(clockSkew: tokenClockSkew, maximumLifetime: tokenMaxLifetime, audience: tokenAudience) }

    /// The per-`sub` limit, `nil` when switched off (0).
    var tokenRateLimitPolicy: TokenRateLimit? {
        tokenRateLimit == 0 ? nil : TokenRateLimit(calls: tokenRateLimit, window: Double(tokenRateWindowMs) / 1000)
    }

    /// The connection limits, with the cap kept below the open-files limit (raised first to its
    /// hard limit where the process may): at the open-files limit the server could no longer
    /// accept at all, where at the cap it still answers 503 and serves the connections it has.
    func connectionLimits() -> ConnectionLimits {
        let files = Self.raiseOpenFilesLimit()
        let reserve = 256  // the database, the registry client, logs, a refusal in flight
        return ConnectionLimits(
            idleTimeout: .milliseconds(Int64(idleTimeout * 1000)), headerTimeout: .milliseconds(Int64(headerTimeout * 1000)),
            bodyReadTimeout: .milliseconds(Int64(bodyReadTimeout * 1000)),
            maximumConnections: files.map { max(16, min(maxConnections, $0 - reserve)) } ?? maxConnections, maximumHeaderBytes: maxHeaderBytes)
    }

    /// Raises the soft open-files limit to the hard one; the soft limit in force afterwards.
    static func raiseOpenFilesLimit() -> Int? {
        #if os(Linux)
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur > rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
        #else
        return nil
        #endif
    }
}
