/// An open-addressing hash table keyed by UTF-8 bytes.
///
/// The readers look up every JSON key and XML element name in the parent type. Doing that on raw
/// bytes, with the names stored once in the table, means no `String` is created per key and the tree
/// reuses the table's own name strings.
@usableFromInline
struct NameTable<Value: Sendable>: Sendable {
    @usableFromInline let slots: [Int32]
    @usableFromInline let hashes: [UInt32]
    @usableFromInline let starts: [Int32]
    @usableFromInline let lengths: [Int32]
    @usableFromInline let bytes: [UInt8]
    @usableFromInline let values: [Value]
    @usableFromInline let mask: Int

    init(_ entries: [(key: String, value: Value)]) {
        var capacity = 8
        while capacity < entries.count * 2 { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        var hashes: [UInt32] = []
        var starts: [Int32] = []
        var lengths: [Int32] = []
        var bytes: [UInt8] = []
        for (index, entry) in entries.enumerated() {
            let keyBytes = Array(entry.key.utf8)
            let hash = keyBytes.withUnsafeBufferPointer { Self.hash($0) }
            hashes.append(hash)
            starts.append(Int32(bytes.count))
            lengths.append(Int32(keyBytes.count))
            bytes.append(contentsOf: keyBytes)
            var slot = Int(hash) & (capacity - 1)
            while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(index)
        }
        self.slots = slots
        self.hashes = hashes
        self.starts = starts
        self.lengths = lengths
        self.bytes = bytes
        self.values = entries.map(\.value)
        self.mask = capacity - 1
    }

    /// FNV-1a: short keys, no setup cost.
    @inlinable
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in key { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }

    @inlinable
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Value? {
        let hash = Self.hash(key)
        var slot = Int(hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry < 0 { return nil }
            if hashes[entry] == hash && Int(lengths[entry]) == key.count && matches(entry, key) {
                return values[entry]
            }
            slot = (slot + 1) & mask
        }
    }

    @inlinable
    func matches(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(starts[entry])
        return bytes.withUnsafeBufferPointer { stored in
            for offset in 0..<key.count where stored[start + offset] != key[offset] { return false }
            return true
        }
    }
}
