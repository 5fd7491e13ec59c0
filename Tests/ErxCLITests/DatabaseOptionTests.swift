import Foundation
import PostgreSQLStore
import StoreTestSupport
import Testing

/// `--database` and its password (issue 21): the password comes from `ERX_DATABASE_PASSWORD` or a
/// file, and reaches no output, whatever goes wrong; `erx migrate` migrates once and exits.
@Suite struct DatabaseOptionTests {
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let finished = try ProcessLaunch.finish(ConvertCommandTests.binary, arguments,
                                                environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        return Run(status: finished.status, output: String(decoding: finished.output, as: UTF8.self),
                   error: String(decoding: finished.error, as: UTF8.self))
    }

    /// A database nobody listens on: the start fails within the connect bound, and neither a
    /// password in the URL nor one from the environment shows in what it prints.
    @Test func anUnreachableDatabaseStopsTheStartWithoutPrintingThePassword() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("erx-db-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        for (url, environment) in [
            ("postgres://erx:url-secret-1@127.0.0.1:1/erx", [String: String]()),
            ("postgres://erx@127.0.0.1:1/erx", ["ERX_DATABASE_PASSWORD": "env-secret-2"]),
        ] {
            let started = Date()
            let result = try run(["serve", "--port", "0", "--data", data.path, "--database", url, "--database-timeout-ms", "500"], environment: environment)
            #expect(result.status != 0)
            #expect(Date().timeIntervalSince(started) < 20, "the start waited far past its bound")
            for secret in ["url-secret-1", "env-secret-2"] {
                #expect(!result.output.contains(secret) && !result.error.contains(secret), "\(url): the password was printed")
            }
        }
    }

    /// A server that is up and refuses the login: the start ends at once, naming the SQLSTATE
    /// (28P01), never the password.
    @Test func aRefusedLoginStopsTheStartAtOnceWithoutPrintingThePassword() async throws {
        let server = try await TestPostgres.configuration()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("erx-db-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: data) }
        let url = "postgres://\(server.user)@\(server.host):\(server.port)/\(server.database)"
        let result = try run(["serve", "--port", "0", "--data", data.path, "--database", url, "--database-timeout-ms", "20000"],
                             environment: ["ERX_DATABASE_PASSWORD": "wrong-secret-3"])
        #expect(result.status != 0)
        #expect(result.error.contains("28P01"), "\(result.error.suffix(300))")
        #expect(!result.output.contains("wrong-secret-3") && !result.error.contains("wrong-secret-3"))
    }

    @Test func aURLOfAnotherSchemeIsAUsageErrorThatNamesNoCredential() throws {
        let result = try run(["serve", "--database", "mysql://erx:pw-secret@db/erx"])
        #expect(result.status == 64)
        #expect(result.error.contains("not postgres://"))
        #expect(!result.error.contains("pw-secret"))
    }

    /// `erx migrate` on a fresh database, with the password from a file: migrated, and the outbox
    /// tools then open it (they never migrate themselves).
    @Test func migrateThenTheOutboxToolsOpenTheDatabase() async throws {
        let (configuration, drop) = try await TestPostgres.freshDatabase()
        let passwordFile = FileManager.default.temporaryDirectory.appendingPathComponent("erx-pw-\(UUID().uuidString)")
        try Data((configuration.password ?? "").utf8 + [0x0A]).write(to: passwordFile)
        defer { try? FileManager.default.removeItem(at: passwordFile) }
        let url = "postgres://\(configuration.user)@\(configuration.host):\(configuration.port)/\(configuration.database)"
        // Before: not this build's schema, refused.
        let before = try run(["outbox", "dead-letters", "--database", url, "--database-password-file", passwordFile.path])
        #expect(before.status == 1)
        #expect(before.error.contains("schema version none"))
        let migrated = try run(["migrate", "--database", url, "--database-password-file", passwordFile.path])
        #expect(migrated.status == 0, "\(migrated.error)")
        #expect(migrated.output.hasPrefix("migrated: postgres://"))
        let listed = try run(["outbox", "dead-letters", "--database", url], environment: ["ERX_DATABASE_PASSWORD": configuration.password ?? ""])
        #expect(listed.status == 0, "\(listed.error)")
        #expect(listed.output.hasPrefix("id\toperation"))
        await drop()
    }
}
