public import Foundation

/// Where the PostgreSQL store connects and how long it waits, parsed from the operator's
/// `postgres://USER[:PASS]@HOST:PORT/DB` URL.
///
/// The password is kept apart from everything printable: ``description`` and every error of the
/// parser name the user, host, port and database only, so a configuration can go into a log line
/// as it is. An explicit password (from a file or an environment variable) wins over one in the URL,
/// which lets operators keep it out of process listings.
public struct PostgreSQLStoreConfiguration: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// The connection pool's size: at most this many connections to the server at once. Each
    /// request holds one only for its transaction.
    public var maximumConnections: Int
    /// How long an operation waits for a connection (connecting, or a free one from the pool)
    /// before it gives up with `StoreUnavailable`.
    public var connectTimeout: Duration
    /// How long an operation's statements may take once it has its connection: the server cancels
    /// a statement past it (`statement_timeout`), and the store closes a connection whose server
    /// has not answered a little after it, so no request ever waits on a dead server.
    public var queryTimeout: Duration

    public init(host: String, port: Int = 5432, user: String, password: String?, database: String,
                maximumConnections: Int = 16, connectTimeout: Duration = .seconds(5), queryTimeout: Duration = .seconds(10)) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
        self.queryTimeout = queryTimeout
    }

    /// Parses `postgres://USER[:PASS]@HOST[:PORT]/DB` (also `postgresql://`); user, password and
    /// database are percent-decoded. `password`, when given, replaces one in the URL.
    public init(url text: String, password: String?) throws {
        guard let components = URLComponents(string: text) else { throw URLError.malformed }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw URLError.scheme
        }
        guard let host = components.host, !host.isEmpty else { throw URLError.missing("host") }
        guard let user = components.user, !user.isEmpty else { throw URLError.missing("user") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw URLError.missing("database") }
        guard components.query == nil, components.fragment == nil else { throw URLError.parameters }
        // URLComponents' `user`, `password` and `path` are already percent-decoded.
        self.init(
            host: host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port: components.port ?? 5432,
            user: user, password: password ?? components.password, database: database
        )
    }

    /// Never the password: whether there is one, at most.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database) (pool \(maximumConnections), connect \(connectTimeout), query \(queryTimeout))"
    }

    public var debugDescription: String { description }

    /// `dump` and debuggers show the description, not the stored password.
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }

    /// What is wrong with a database URL. Names a part of the URL, never its value, so the error
    /// can be printed as it is.
    public enum URLError: Error, Sendable, Hashable, CustomStringConvertible {
        case malformed
        /// Not `postgres://` or `postgresql://`. The scheme itself is not echoed: in a mistyped URL
        /// (`erx:secret@host/db`) what parses as the scheme may be part of a credential.
        case scheme
        case missing(String)
        case parameters

        public var description: String {
            switch self {
            case .malformed: "database URL: not a URL (expected postgres://USER[:PASS]@HOST:PORT/DB)"
            case .scheme: "database URL: the scheme is not postgres:// (expected postgres://USER[:PASS]@HOST:PORT/DB)"
            case .missing(let part): "database URL: no \(part) (expected postgres://USER[:PASS]@HOST:PORT/DB)"
            case .parameters: "database URL: query parameters are not supported (expected postgres://USER[:PASS]@HOST:PORT/DB)"
            }
        }
    }
}
