/// What can go wrong in the PostgreSQL store itself (as opposed to the domain errors `decide`
/// throws, which pass through unchanged, and to `StoreUnavailable` for a server that cannot be
/// reached in time).
///
/// Cases name tables, columns and SQLSTATE codes, never stored values nor the server's message
/// (a unique violation's detail quotes the row): those may be personal data, and these errors end
/// up in logs.
public enum PostgreSQLStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stored value this store cannot read back: a KVNR that is no KVNR, an unknown status, a
    /// resource that is not FHIR JSON, a NULL or a wrong type where a value belongs.
    case corruptRow(table: String, column: String)
    /// An operation after `close()`.
    case closed
    /// `decide` returned a change of another task than the one it was handed.
    case changeOfAnotherTask
    /// A dispensation whose MedicationDispense has no `id` (the rules assign them before storing).
    case dispensationWithoutID
    /// `open(_:logger:migrating: false)` found a database of another schema than this build's
    /// (none at all, an older one, or a newer one).
    case otherSchemaVersion(found: Int?, expected: Int)
    /// The server refused a statement (SQLSTATE `sqlState`): a constraint, a syntax error, a
    /// missing privilege.
    case server(sqlState: String)
    /// `decide` asked for reads again and again without deciding (a rule that asks for another
    /// insurant's objections on every run): a bug, not a state of the data.
    case tooManyReads

    public var description: String {
        switch self {
        case let .corruptRow(table, column): "PostgreSQL store: unreadable value in \(table).\(column)"
        case .closed: "PostgreSQL store: closed"
        case .changeOfAnotherTask: "PostgreSQL store: the change returned by decide is for another task"
        case .dispensationWithoutID: "PostgreSQL store: a MedicationDispense without id cannot be stored"
        case let .otherSchemaVersion(found, expected):
            "PostgreSQL store: the database has schema version \(found.map(String.init) ?? "none"), this build needs \(expected) (run the matching erx serve once)"
        case .server(let sqlState): "PostgreSQL store: the server refused a statement (SQLSTATE \(sqlState))"
        case .tooManyReads: "PostgreSQL store: decide kept asking for more reads"
        }
    }
}
