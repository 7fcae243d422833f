/// A canonical Huffman code as a lookup table indexed by the next `maxLength` bits (bit-reversed codes).
struct HuffmanTable {
    private let maxLength: Int
    /// `symbol << 4 | codeLength`, or 0 where no code starts with those bits.
    private let entries: [UInt16]

    /// Builds the code from per-symbol code lengths (0 = unused). Incomplete codes are allowed (RFC 1951 permits
    /// a lone distance code); over-subscribed ones are rejected.
    init(lengths: [UInt8]) throws {
        var lengthCounts = [Int](repeating: 0, count: 16)
        for length in lengths {
            guard length <= 15 else { throw CompressionError.malformed("Huffman code length \(length) over 15") }
            lengthCounts[Int(length)] += 1
        }
        var left = 1
        for length in 1...15 {
            left = left * 2 - lengthCounts[length]
            guard left >= 0 else { throw CompressionError.malformed("over-subscribed Huffman code") }
        }
        self.init(validLengths: lengths)
    }

    /// Builds the code from lengths known to be at most 15 and not over-subscribed.
    init(validLengths lengths: [UInt8]) {
        var lengthCounts = [Int](repeating: 0, count: 16)
        for length in lengths { lengthCounts[Int(length)] += 1 }
        lengthCounts[0] = 0
        maxLength = max(1, Int(lengths.max() ?? 1))
        var nextCode = [Int](repeating: 0, count: 16)
        var code = 0
        for length in 1...15 {
            code = (code + lengthCounts[length - 1]) << 1
            nextCode[length] = code
        }
        var entries = [UInt16](repeating: 0, count: 1 << maxLength)
        for (symbol, length) in lengths.enumerated() where length > 0 {
            let length = Int(length)
            var reversed = 0
            var value = nextCode[length]
            for _ in 0..<length {
                reversed = reversed << 1 | value & 1
                value >>= 1
            }
            nextCode[length] += 1
            for index in stride(from: reversed, to: entries.count, by: 1 << length) {
                entries[index] = UInt16(symbol << 4 | length)
            }
        }
        self.entries = entries
    }

    /// Decodes one symbol.
    func decode(_ reader: inout BitReader) throws -> Int {
        let (bits, available) = reader.peek(maxLength)
        let entry = Int(entries[bits])
        let length = entry & 15
        guard length > 0 else { throw CompressionError.malformed("invalid Huffman code") }
        guard length <= available else { throw CompressionError.truncated }
        reader.skip(length)
        return entry >> 4
    }
}
