/// Reads a DEFLATE stream's bits least-significant first.
struct BitReader {
    private let bytes: [UInt8]
    private var position: Int
    private var buffer: UInt64 = 0
    private var count = 0

    init(bytes: [UInt8], position: Int) {
        self.bytes = bytes
        self.position = position
    }

    /// Tops the buffer up to at least 56 bits while input remains.
    private mutating func refill() {
        while count <= 56, position < bytes.count {
            buffer |= UInt64(bytes[position]) << UInt64(count)
            position += 1
            count += 8
        }
    }

    /// The next `n` (0...16) bits as an integer, consumed.
    mutating func bits(_ n: Int) throws -> Int {
        if count < n { refill() }
        guard count >= n else { throw CompressionError.truncated }
        let value = Int(buffer & ((1 << UInt64(n)) - 1))
        buffer >>= UInt64(n)
        count -= n
        return value
    }

    /// Up to `n` upcoming bits without consuming them (zero-padded past the end) and how many are real.
    mutating func peek(_ n: Int) -> (value: Int, available: Int) {
        if count < n { refill() }
        return (Int(buffer & ((1 << UInt64(n)) - 1)), count)
    }

    /// Consumes `n` bits that `peek` showed to be available.
    mutating func skip(_ n: Int) {
        buffer >>= UInt64(n)
        count -= n
    }

    /// Drops the bits left in the current byte (stored blocks start on a byte boundary).
    mutating func discardToByteBoundary() {
        skip(count % 8)
    }

    /// Aligns to a byte and returns the index of the first input byte not yet consumed.
    mutating func finishAtByteBoundary() -> Int {
        discardToByteBoundary()
        return position - count / 8
    }
}
