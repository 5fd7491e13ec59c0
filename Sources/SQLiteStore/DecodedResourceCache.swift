import FHIRModel
import Foundation
import Synchronization

/// Decoded resources by key (a task's prescription by its PrescriptionID), for the reads of the
/// single writer.
///
/// Every update reads its task inside the writer, and decoding the prescription (a KBV bundle of
/// several KB) took about a tenth of the writer's time per `$dispense` (measured under load),
/// although a prescription never changes after `$activate`. A hit is taken only when the stored
/// bytes equal the cached ones, so the cache never hands out anything but the decoding of what is
/// stored now; comparing is a `memcmp`, far cheaper than decoding.
final class DecodedResourceCache: Sendable {
    private struct Entry {
        let bytes: Data
        let resource: Element
    }

    private let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])
    private let counts = Mutex((hits: 0, decodes: 0))

    /// `capacity` bounds the memory: a decoded bundle takes some tens of KB.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The decoding of `bytes`: the cached one when `key` was last seen with exactly these bytes.
    func resource(_ key: String, bytes: Data, decode: (Data) throws -> Element) rethrows -> Element {
        if let entry = entries.withLock({ $0[key] }), entry.bytes == bytes {
            counts.withLock { $0.hits += 1 }
            return entry.resource
        }
        let resource = try decode(bytes)
        counts.withLock { $0.decodes += 1 }
        entries.withLock { entries in
            // Any entry will do: the keys are random-ish, and a miss only costs a decode.
            if entries.count >= capacity, entries[key] == nil { entries.remove(at: entries.startIndex) }
            entries[key] = Entry(bytes: bytes, resource: resource)
        }
        return resource
    }

    /// How often a decoding was reused, and how often bytes were decoded (tests prove reuse with it).
    var statistics: (hits: Int, decodes: Int) { counts.withLock { $0 } }

    /// Drops the decoding under `key` (a prescription deleted at `$abort` is not kept in memory either).
    func forget(_ key: String) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    /// How many decodings it holds (tests check the bound).
    var count: Int { entries.withLock(\.count) }
}
