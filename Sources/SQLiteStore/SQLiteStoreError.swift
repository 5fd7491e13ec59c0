/// What can go wrong in the SQLite store itself (as opposed to the domain errors `decide` throws,
/// which pass through unchanged).
///
/// Cases name tables and columns, never stored values: those may be personal data (a KVNR, a
/// prescription), and these errors end up in logs.
public enum SQLiteStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stored value this store cannot read back: a KVNR that is no KVNR, an unknown status, a
    /// resource that is not FHIR JSON, a NULL or a wrong type where a value belongs.
    case corruptRow(table: String, column: String)
    /// The writer connection does not run with `synchronous=FULL` after we set it (reads `level`),
    /// so commits would not survive a power loss.
    case durabilityUnavailable(synchronous: Int)
    /// A write submitted after `close()`.
    case closed
    /// `decide` returned a change of another task than the one it was handed.
    case changeOfAnotherTask
    /// A dispensation whose MedicationDispense has no `id`: the rules assign the ids before a set is
    /// stored, and the id is the key searches return it by.
    case dispensationWithoutID
    /// ``SQLiteTaskStore/existing(at:)`` found no database file.
    case noDatabase
    /// ``SQLiteTaskStore/existing(at:)`` found a database of an older or newer schema than this build's.
    case otherSchemaVersion

    public var description: String {
        switch self {
        case let .corruptRow(table, column): "SQLite store: unreadable value in \(table).\(column)"
        case let .durabilityUnavailable(level): "SQLite store: PRAGMA synchronous reads \(level), not 2 (FULL)"
        case .closed: "SQLite store: closed"
        case .changeOfAnotherTask: "SQLite store: the change returned by decide is for another task"
        case .dispensationWithoutID: "SQLite store: a MedicationDispense without id cannot be stored"
        case .noDatabase: "SQLite store: no database at this path"
        case .otherSchemaVersion: "SQLite store: the database has another schema version than this build (run the matching erx serve once)"
        }
    }
}
