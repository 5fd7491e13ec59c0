/// One request body for several of an insurant's transfers of one operation (A_25956: the ePA
/// input takes its parameter 1..*), spliced from their stored payloads without decoding them.
///
/// Every stored payload is the compact JSON our writer made of an input Parameters: the same
/// `resourceType` and `meta` for one operation, then the array of its one parameter, last. The
/// bodies are joined when each one has exactly that shape: the head up to `"parameter":[` byte for
/// byte the same, and that array closing just before the final `}`; otherwise they are not joined
/// and go one by one. Decoding and
/// writing them again would cost more than the call saves.
enum CombinedPayload {
    private static let arrayStart = Array(#""parameter":["#.utf8)
    private static let end = Array("]}".utf8)

    /// The body carrying `payloads`' parameters in order, or `nil` when they cannot be joined.
    static func join(_ payloads: [[UInt8]]) -> [UInt8]? {
        guard let first = payloads.first, let headLength = headLength(of: first) else { return nil }
        var body = Array(first[..<headLength])
        body.reserveCapacity(payloads.reduce(0) { $0 + $1.count })
        for (index, payload) in payloads.enumerated() {
            guard payload.count > headLength + end.count, payload.starts(with: first[..<headLength]),
                  payload.suffix(end.count).elementsEqual(end), closingBracket(of: payload, from: headLength) == payload.count - 2
            else { return nil }
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: payload[headLength..<(payload.count - end.count)])
        }
        body.append(contentsOf: end)
        return body
    }

    /// The index of the `]` that closes the array whose content starts at `start`, skipping
    /// strings (and their escapes): the parameter array must be the document's last member, or
    /// what follows it would end up inside the joined array.
    private static func closingBracket(of payload: [UInt8], from start: Int) -> Int? {
        var depth = 1
        var inString = false
        var escaped = false
        for index in start..<payload.count {
            let byte = payload[index]
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return byte == UInt8(ascii: "]") ? index : nil }
            default: break
            }
        }
        return nil
    }

    /// Where the parameter array's content starts: after the first `"parameter":[`, which in our
    /// payloads follows only `resourceType` and `meta` (no resource before it has a parameter).
    private static func headLength(of payload: [UInt8]) -> Int? {
        guard payload.count > arrayStart.count else { return nil }
        for start in 0...(payload.count - arrayStart.count) where payload[start] == arrayStart[0] {
            if payload[start..<(start + arrayStart.count)].elementsEqual(arrayStart) { return start + arrayStart.count }
        }
        return nil
    }
}
