/// Readers for the two DEFLATE containers the package meets: zlib (RFC 1950, inside PNG) and gzip (RFC 1952).
public enum Decompression {
    /// Decodes a zlib stream (no preset dictionary) and checks its Adler-32 trailer.
    /// - Parameter limit: the most decoded bytes accepted.
    /// - Throws: ``CompressionError``.
    public static func zlib(_ bytes: [UInt8], limit: Int = .max) throws -> [UInt8] {
        guard bytes.count >= 2 else { throw CompressionError.truncated }
        let method = bytes[0], flags = bytes[1]
        guard method & 0x0f == 8, method >> 4 <= 7 else {
            throw CompressionError.malformed("zlib header \(method) is not DEFLATE with a window of at most 32 KiB")
        }
        guard (UInt16(method) << 8 | UInt16(flags)) % 31 == 0 else { throw CompressionError.malformed("zlib header check fails") }
        guard flags & 0x20 == 0 else { throw CompressionError.malformed("zlib preset dictionaries are not supported") }
        let (output, end) = try Inflate.decompress(bytes, from: 2, limit: limit)
        guard end + 4 <= bytes.count else { throw CompressionError.truncated }
        let stored = bytes[end..<end + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let computed = output.withUnsafeBufferPointer { Checksum.adler32($0) }
        guard stored == computed else { throw CompressionError.checksumMismatch(kind: "Adler-32", stored: stored, computed: computed) }
        return output
    }

    /// Decodes a gzip file (one or more members, concatenated) and checks each member's CRC-32 and size.
    /// - Throws: ``CompressionError``.
    public static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        var position = 0
        repeat {
            position = try gzipMember(bytes, from: position, appendingTo: &output)
        } while position < bytes.count
        return output
    }

    /// Decodes the member starting at `start`; returns the index just past it.
    private static func gzipMember(_ bytes: [UInt8], from start: Int, appendingTo output: inout [UInt8]) throws -> Int {
        guard bytes.count >= start + 10 else { throw CompressionError.truncated }
        guard bytes[start] == 0x1f, bytes[start + 1] == 0x8b else { throw CompressionError.malformed("not a gzip stream") }
        guard bytes[start + 2] == 8 else { throw CompressionError.malformed("gzip compression method \(bytes[start + 2]) is not DEFLATE") }
        let flags = bytes[start + 3]
        var position = start + 10
        if flags & 0x04 != 0 {  // FEXTRA: a little-endian length, then that many bytes
            guard bytes.count >= position + 2 else { throw CompressionError.truncated }
            position += 2 + Int(bytes[position]) + Int(bytes[position + 1]) << 8
        }
        for flag: UInt8 in [0x08, 0x10] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while position < bytes.count, bytes[position] != 0 { position += 1 }
            position += 1
        }
        if flags & 0x02 != 0 { position += 2 }  // FHCRC
        guard position <= bytes.count else { throw CompressionError.truncated }
        let (member, end) = try Inflate.decompress(bytes, from: position)
        guard end + 8 <= bytes.count else { throw CompressionError.truncated }
        let littleEndian = { (offset: Int) in bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        let crc = Checksum.crc32(member)
        guard littleEndian(end) == crc else { throw CompressionError.checksumMismatch(kind: "CRC-32", stored: littleEndian(end), computed: crc) }
        guard littleEndian(end + 4) == UInt32(truncatingIfNeeded: member.count) else {
            throw CompressionError.malformed("gzip size field \(littleEndian(end + 4)) disagrees with \(member.count) decoded bytes")
        }
        output.append(contentsOf: member)
        return end + 8
    }
}
