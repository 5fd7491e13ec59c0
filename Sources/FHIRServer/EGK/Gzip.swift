import CZlib

/// gzip (RFC 1952) through the system's zlib, for the eGK's proof of presence (`pnw` =
/// base64(gzip(PN XML)), issue 24).
public enum Gzip {
    public enum Failure: Error, Sendable, Hashable {
        /// Not gzip, damaged, truncated, or followed by other bytes.
        case malformed
        /// It inflates to more than the limit: a PN is a few hundred bytes, so a larger output
        /// is refused as soon as it exceeds the limit (a gzip bomb never expands in memory).
        case tooLarge
    }

    /// The largest inflated document ``inflate(_:limit:)`` accepts by default.
    public static let defaultLimit = 64 * 1024

    /// Inflates one gzip member of at most `limit` bytes.
    public static func inflate(_ input: [UInt8], limit: Int = defaultLimit) throws(Failure) -> [UInt8] {
        guard !input.isEmpty, input.count <= UInt32.max else { throw .malformed }
        var stream = z_stream()
        guard erx_inflate_init_gzip(&stream) == Z_OK else { throw .malformed }
        defer { inflateEnd(&stream) }
        // One byte more than the limit: producing it proves the output too large.
        var output = [UInt8](repeating: 0, count: limit + 1)
        var input = input
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                var status = Z_OK
                // zlib stops at the end of the member, at a full output buffer, or on an error.
                while status == Z_OK { status = CZlib.inflate(&stream, Z_NO_FLUSH) }
                return status
            }
        }
        let produced = Int(stream.total_out)
        guard produced <= limit else { throw .tooLarge }
        guard status == Z_STREAM_END, stream.avail_in == 0 else { throw produced >= limit ? .tooLarge : .malformed }
        return Array(output.prefix(produced))
    }

    /// Compresses `input` as one gzip member (the development proof generator, tests).
    public static func deflate(_ input: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        guard erx_deflate_init_gzip(&stream) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var input = input
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        let status: Int32 = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output.prefix(Int(stream.total_out)))
    }
}
