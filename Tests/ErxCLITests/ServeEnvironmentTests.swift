@testable import erx
import Foundation
import StoreTestSupport
import Testing

/// Every `erx serve` option has an `ERX_…` environment variable; the command line wins.
struct ServeEnvironmentTests {
    /// The options `erx serve --help` lists are exactly those with a variable (and `--help`).
    @Test func everyServeOptionHasAVariable() throws {
        let finished = try ProcessLaunch.finish(ConvertCommandTests.binary, ["serve", "--help"])
        let help = String(decoding: finished.output, as: UTF8.self)
        let listed = Set(help.matches(of: /--([a-z][a-z0-9-]+)/).map { String($0.output.1) })
        #expect(listed.subtracting(["help"]) == Set(ServeEnvironment.options + ServeEnvironment.flags))
    }

    @Test func variablesBecomeArgumentsUnlessTheCommandLineGivesThem() {
        let environment = [
            "ERX_PORT": "9000", "ERX_MAX_BODY_BYTES": "1000", "ERX_PROFILES": "/a:/b", "ERX_ACCEPT_UNSIGNED": "true", "ERX_HOST": "",
            "ERX_UNRELATED": "x",
        ]
        let merged = ServeEnvironment.merged(["--port=8081"], environment: environment)
        #expect(merged.first == "--port=8081")
        #expect(!merged.contains("--port=9000"))
        #expect(merged.contains("--max-body-bytes=1000"))
        #expect(merged.filter { $0.hasPrefix("--profiles=") } == ["--profiles=/a", "--profiles=/b"])
        #expect(merged.contains("--accept-unsigned"))
        #expect(!merged.contains { $0.hasPrefix("--host") })
        #expect(ServeEnvironment.variable("relay-call-hold-ms") == "ERX_RELAY_CALL_HOLD_MS")
        #expect(ServeEnvironment.merged([], environment: ["ERX_DATABASE_URL": "postgres://erx@db:5432/erx"]) == ["--database=postgres://erx@db:5432/erx"])
    }

    /// Through the real binary: a variable's bad value is refused as the option's would be.
    @Test func theBinaryReadsTheVariables() throws {
        let finished = try ProcessLaunch.finish(ConvertCommandTests.binary, ["serve"], environment: [
            "ERX_MAX_CONNECTIONS": "-5", "ERX_DATA": FileManager.default.temporaryDirectory.path + "/erx-env-\(UUID())",
        ])
        let text = String(decoding: finished.error, as: UTF8.self)
        #expect(finished.status != 0)
        #expect(text.contains("limits must be positive"))
    }

    /// `--rules` (ARCHITECTURE decision 14) takes `fd` or `strict`, from `ERX_RULES` too.
    @Test func theRulesAreFDOrStrict() throws {
        let finished = try ProcessLaunch.finish(ConvertCommandTests.binary, ["serve"], environment: [
            "ERX_RULES": "lenient", "ERX_DATA": FileManager.default.temporaryDirectory.path + "/erx-env-\(UUID())",
        ])
        #expect(finished.status != 0)
        #expect(String(decoding: finished.error, as: UTF8.self).contains("--rules must be one of fd, strict"))
        #expect(ServeEnvironment.merged([], environment: ["ERX_RULES": "strict"]) == ["--rules=strict"])
    }
}
