import FHIRFormats
import FHIRModel
import Foundation
import GRDB

/// How instants are stored: REAL seconds since Foundation's reference date (2001-01-01T00:00:00Z).
///
/// Not seconds since 1970: a `Date` holds seconds since 2001 as a `Double`, and adding the
/// 978 307 200 s between the epochs rounds away the lowest bit of about every second `Date()`
/// (measured here: 5 003 of 10 000), so a task read back would no longer equal the one written.
/// The reference-date value is the `Double` itself, so every instant round-trips exactly. In the
/// sqlite3 shell: `datetime(created_at + 978307200, 'unixepoch', 'subsec')`.
enum StoredDate {
    static func value(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }
    static func value(_ date: Date?) -> Double? { date.map(value) }
    static func date(_ value: Double) -> Date { Date(timeIntervalSinceReferenceDate: value) }
}

/// How resources are stored: compact FHIR JSON, the form the codecs write and read back losslessly.
enum StoredResource {
    static func value(_ resource: Element) throws -> Data {
        Data(try FHIRFormat.json.write(resource))
    }

    static func value(_ resource: Element?) throws -> Data? {
        try resource.map { try value($0) }
    }
}

/// Reads one stored row column by column, turning every unreadable value into
/// ``SQLiteStoreError/corruptRow(table:column:)``.
///
/// GRDB's subscripts crash on a NULL or a wrong type, and its decoding errors print the whole row,
/// personal data included; this reader does neither.
///
/// Given the query's column list, it finds a column by its position in that list: GRDB's lookup by
/// name lower-cases every column name of the row for each lookup, which made reading a task row
/// a tenth of the single writer's time per `$dispense` (measured under load).
struct RowReader {
    let row: Row
    let table: String
    /// The selected columns in order, when the query's list is known; else columns are found by name.
    let columns: [String]?

    init(row: Row, table: String, columns: [String]? = nil) {
        self.row = row
        self.table = table
        // A row of another shape than the list says is read by name, so it can only fail cleanly.
        self.columns = columns.flatMap { $0.count == row.count ? $0 : nil }
    }

    func value<Value: DatabaseValueConvertible>(_ column: String, as type: Value.Type = Value.self) throws -> Value {
        do {
            if let index = columns?.firstIndex(of: column) { return try row.decode(Value.self, atIndex: index) }
            return try row.decode(Value.self, forColumn: column)
        } catch {
            throw corrupt(column)
        }
    }

    func valueIfPresent<Value: DatabaseValueConvertible>(_ column: String, as type: Value.Type = Value.self) throws -> Value? {
        do {
            if let index = columns?.firstIndex(of: column) { return try row.decode(Value?.self, atIndex: index) }
            return try row.decode(Value?.self, forColumn: column)
        } catch {
            throw corrupt(column)
        }
    }

    /// A text column through a failable initialiser (`KVNR.init`, `TaskStatus.init(rawValue:)`).
    func parsed<Value>(_ column: String, _ parse: (String) -> Value?) throws -> Value {
        guard let parsed = parse(try value(column, as: String.self)) else { throw corrupt(column) }
        return parsed
    }

    func parsedIfPresent<Value>(_ column: String, _ parse: (String) -> Value?) throws -> Value? {
        guard let text = try valueIfPresent(column, as: String.self) else { return nil }
        guard let parsed = parse(text) else { throw corrupt(column) }
        return parsed
    }

    func date(_ column: String) throws -> Date {
        StoredDate.date(try value(column, as: Double.self))
    }

    func dateIfPresent(_ column: String) throws -> Date? {
        try valueIfPresent(column, as: Double.self).map(StoredDate.date)
    }

    func resource(_ column: String) throws -> Element {
        try decodeResource(try value(column, as: Data.self), column: column)
    }

    func resourceIfPresent(_ column: String) throws -> Element? {
        guard let data = try valueIfPresent(column, as: Data.self) else { return nil }
        return try decodeResource(data, column: column)
    }

    /// ``resourceIfPresent(_:)`` through `cache`, under `key`.
    func resourceIfPresent(_ column: String, cachedIn cache: DecodedResourceCache, key: String) throws -> Element? {
        guard let data = try valueIfPresent(column, as: Data.self) else {
            cache.forget(key)
            return nil
        }
        return try cache.resource(key, bytes: data) { try decodeResource($0, column: column) }
    }

    private func decodeResource(_ data: Data, column: String) throws -> Element {
        do {
            return try FHIRFormat.json.read([UInt8](data)).resource
        } catch {
            throw corrupt(column)
        }
    }

    private func corrupt(_ column: String) -> SQLiteStoreError {
        .corruptRow(table: table, column: column)
    }
}

/// Positional statement arguments built from optional column values (`nil` binds NULL).
func arguments(_ values: [(any DatabaseValueConvertible)?]) -> StatementArguments {
    StatementArguments(values)
}
