/// Packs bits least-significant first into bytes, as DEFLATE stores them.
struct BitWriter {
    /// The bytes completed so far.
    var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0

    /// Writes the low `bits` bits of `value`, least significant first (extra bits, header fields).
    mutating func write(_ value: Int, bits: Int) {
        buffer |= UInt64(value) << UInt64(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(buffer & 0xff))
            buffer >>= 8
            count -= 8
        }
    }

    /// Writes a Huffman code, most significant bit first.
    mutating func writeCode(_ code: Int, length: Int) {
        var reversed = 0
        for bit in 0..<length { reversed |= (code >> bit & 1) << (length - 1 - bit) }
        write(reversed, bits: length)
    }

    /// Number of bits written so far.
    var bitCount: Int { bytes.count * 8 + count }

    /// Appends everything `other` wrote, bit for bit.
    mutating func append(_ other: BitWriter) {
        for byte in other.bytes { write(Int(byte), bits: 8) }
        if other.count > 0 { write(Int(other.buffer), bits: other.count) }
    }

    /// Pads the last partial byte with zero bits.
    mutating func flushToByte() {
        if count > 0 { write(0, bits: 8 - count) }
    }
}
