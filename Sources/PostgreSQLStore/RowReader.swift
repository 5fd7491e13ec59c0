import FHIRFormats
import FHIRModel
import Foundation
import PostgresNIO

/// How instants are stored: `double precision` seconds since Foundation's reference date
/// (2001-01-01T00:00:00Z), exactly as the SQLite store stores them.
///
/// Not `timestamptz`: it keeps microseconds, and a `Date` holds more bits than that (`Date()`
/// carries sub-microsecond digits), so a task read back would no longer equal the one written and
/// the port's round-trip guarantee would differ between the two stores. The value is the `Date`'s
/// own `Double`, so every instant round-trips exactly. In psql:
/// `to_timestamp(created_at + 978307200)`.
enum StoredDate {
    static func value(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }
    static func value(_ date: Date?) -> Double? { date.map(value) }
    static func date(_ value: Double) -> Date { Date(timeIntervalSinceReferenceDate: value) }
}

/// How resources are stored: compact FHIR JSON in `bytea`, the same bytes the SQLite store keeps
/// in its BLOBs (the codecs read them back losslessly).
enum StoredResource {
    static func value(_ resource: Element) throws -> ByteBuffer {
        ByteBuffer(bytes: try FHIRFormat.json.write(resource))
    }

    static func value(_ resource: Element?) throws -> ByteBuffer? {
        try resource.map { try value($0) }
    }

    static func bytes(_ bytes: [UInt8]?) -> ByteBuffer? {
        bytes.map { ByteBuffer(bytes: $0) }
    }
}

/// Reads one row column by column, turning every unreadable value into
/// ``PostgreSQLStoreError/corruptRow(table:column:)``: postgres-nio's decoding errors carry the
/// cell's bytes, which may be personal data.
struct RowReader {
    let row: PostgresRandomAccessRow
    let table: String

    init(_ row: PostgresRow, table: String) {
        self.row = row.makeRandomAccess()
        self.table = table
    }

    func value<Value: PostgresDecodable>(_ column: String, as type: Value.Type = Value.self) throws -> Value
    where Value._DecodableType == Value {
        guard row.contains(column), let value = try? row[column].decode(Value?.self) else { throw corrupt(column) }
        return value
    }

    func valueIfPresent<Value: PostgresDecodable>(_ column: String, as type: Value.Type = Value.self) throws -> Value?
    where Value._DecodableType == Value {
        guard row.contains(column) else { throw corrupt(column) }
        do {
            return try row[column].decode(Value?.self)
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

    func bytesIfPresent(_ column: String) throws -> [UInt8]? {
        try valueIfPresent(column, as: ByteBuffer.self).map { Array($0.readableBytesView) }
    }

    func resource(_ column: String) throws -> Element {
        guard let resource = try resourceIfPresent(column) else { throw corrupt(column) }
        return resource
    }

    func resourceIfPresent(_ column: String) throws -> Element? {
        guard let bytes = try bytesIfPresent(column) else { return nil }
        do {
            return try FHIRFormat.json.read(bytes).resource
        } catch {
            throw corrupt(column)
        }
    }

    func corrupt(_ column: String) -> PostgreSQLStoreError {
        .corruptRow(table: table, column: column)
    }
}
