/// A compressed stream (DEFLATE, zlib or gzip) that cannot be decoded. Callers add the file or chunk it came from.
public enum CompressionError: Error, Equatable, CustomStringConvertible {
    /// The stream ends before its last block (or its trailer) does.
    case truncated
    /// The bytes violate the format; the message says where and how.
    case malformed(String)
    /// The stored checksum disagrees with the decoded data.
    case checksumMismatch(kind: String, stored: UInt32, computed: UInt32)

    /// A human-readable description of the problem.
    public var description: String {
        switch self {
        case .truncated: return "compressed data ends unexpectedly"
        case .malformed(let message): return "malformed compressed data: \(message)"
        case .checksumMismatch(let kind, let stored, let computed):
            return "\(kind) checksum mismatch: stored \(hex(stored)), computed \(hex(computed))"
        }
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }
}
