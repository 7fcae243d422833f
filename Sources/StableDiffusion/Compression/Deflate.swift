/// A small DEFLATE (RFC 1951) encoder: greedy LZ77 matching over a 32 KiB window with hash chains, written as
/// one fixed-Huffman block. Enough for PNG files a few times smaller than raw pixels, with no system zlib.
enum Deflate {
    private static let windowSize = 1 << 15
    private static let minimumMatch = 3
    private static let maximumMatch = 258
    /// How many earlier positions with the same 3-byte hash are tried per position (speed/size trade-off).
    private static let maximumChain = 48
    private static let hashBits = 15

    /// `data` as a zlib stream (RFC 1950): header, DEFLATE data, Adler-32.
    static func zlib(_ data: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes = [0x78, 0x01]  // DEFLATE, 32 KiB window, "fastest" level hint; (0x7801 % 31 == 0)
        encode(data, into: &writer)
        writer.flushToByte()
        let adler = data.withUnsafeBufferPointer { Checksum.adler32($0) }
        writer.bytes += [UInt8(adler >> 24), UInt8(adler >> 16 & 0xff), UInt8(adler >> 8 & 0xff), UInt8(adler & 0xff)]
        return writer.bytes
    }

    /// Appends `data` as a single final fixed-Huffman block.
    private static func encode(_ data: [UInt8], into writer: inout BitWriter) {
        writer.write(1, bits: 1)  // BFINAL
        writer.write(1, bits: 2)  // BTYPE = fixed Huffman
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var previous = [Int32](repeating: -1, count: windowSize)
        var position = 0
        func insert(_ index: Int) {
            guard index + minimumMatch <= data.count else { return }
            let hash = hashOf(data, at: index)
            previous[index & (windowSize - 1)] = head[hash]
            head[hash] = Int32(index)
        }
        while position < data.count {
            let (length, distance) = longestMatch(in: data, at: position, head: head, previous: previous)
            if length >= minimumMatch {
                writeLength(length, &writer)
                writeDistance(distance, &writer)
                for index in position..<position + length { insert(index) }
                position += length
            } else {
                writeLiteral(Int(data[position]), &writer)
                insert(position)
                position += 1
            }
        }
        writeLiteral(256, &writer)  // end of block
    }

    private static func hashOf(_ data: [UInt8], at index: Int) -> Int {
        let key = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
        return Int((key &* 2_654_435_761) >> UInt32(32 - hashBits))
    }

    /// The longest earlier match (length, distance) for the bytes at `position`, or length 0.
    private static func longestMatch(in data: [UInt8], at position: Int, head: [Int32], previous: [Int32]) -> (Int, Int) {
        guard position + minimumMatch <= data.count else { return (0, 0) }
        let limit = min(maximumMatch, data.count - position)
        var candidate = Int(head[hashOf(data, at: position)])
        var best = 0, bestDistance = 0, tries = 0
        while candidate >= 0, position - candidate <= windowSize, tries < maximumChain {
            if data[candidate + best] == data[position + best] {
                var length = 0
                while length < limit, data[candidate + length] == data[position + length] { length += 1 }
                if length > best {
                    best = length
                    bestDistance = position - candidate
                    if length == limit { break }
                }
            }
            let next = Int(previous[candidate & (windowSize - 1)])
            guard next < candidate else { break }  // the slot was reused by a newer position
            candidate = next
            tries += 1
        }
        return (best, bestDistance)
    }

    /// A literal byte or the end-of-block symbol in the fixed code (RFC 1951 §3.2.6).
    private static func writeLiteral(_ symbol: Int, _ writer: inout BitWriter) {
        switch symbol {
        case 0..<144: writer.writeCode(0x30 + symbol, length: 8)
        case 144..<256: writer.writeCode(0x190 + symbol - 144, length: 9)
        case 256..<280: writer.writeCode(symbol - 256, length: 7)
        default: writer.writeCode(0xc0 + symbol - 280, length: 8)
        }
    }

    private static func writeLength(_ length: Int, _ writer: inout BitWriter) {
        let index = Inflate.lengthBases.lastIndex { $0 <= length } ?? 0
        writeLiteral(257 + index, &writer)
        writer.write(length - Inflate.lengthBases[index], bits: Inflate.lengthExtraBits[index])
    }

    private static func writeDistance(_ distance: Int, _ writer: inout BitWriter) {
        let index = Inflate.distanceBases.lastIndex { $0 <= distance } ?? 0
        writer.writeCode(index, length: 5)
        writer.write(distance - Inflate.distanceBases[index], bits: Inflate.distanceExtraBits[index])
    }
}
