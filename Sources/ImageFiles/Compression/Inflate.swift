/// A DEFLATE (RFC 1951) decoder: stored, fixed-Huffman and dynamic-Huffman blocks.
///
/// Used to read zlib streams (PNG image data) and gzip files (the compressed CLIP merges list) without a
/// system zlib. Table-driven: each Huffman code is decoded with one lookup into a table indexed by the next
/// `maxLength` input bits.
enum Inflate {
    /// Decodes the raw DEFLATE stream that starts at `start` in `input`.
    /// - Parameter limit: the most output bytes accepted; more is reported as malformed (guards memory against
    ///   hostile inputs).
    /// - Returns: the decoded bytes and the index of the first input byte after the stream.
    /// - Throws: ``CompressionError``.
    static func decompress(_ input: [UInt8], from start: Int = 0, limit: Int = .max) throws -> (output: [UInt8], end: Int) {
        var reader = BitReader(bytes: input, position: start)
        var output: [UInt8] = []
        var isFinal = false
        while !isFinal {
            isFinal = try reader.bits(1) == 1
            switch try reader.bits(2) {
            case 0: try copyStoredBlock(&reader, into: &output, limit: limit)
            case 1: try inflateBlock(&reader, literals: fixedLiteralTable, distances: fixedDistanceTable, into: &output, limit: limit)
            case 2:
                let (literals, distances) = try readDynamicTables(&reader)
                try inflateBlock(&reader, literals: literals, distances: distances, into: &output, limit: limit)
            default: throw CompressionError.malformed("reserved block type 3")
            }
        }
        return (output, reader.finishAtByteBoundary())
    }

    private static func copyStoredBlock(_ reader: inout BitReader, into output: inout [UInt8], limit: Int) throws {
        reader.discardToByteBoundary()
        let length = try reader.bits(16)
        let complement = try reader.bits(16)
        guard length == ~complement & 0xffff else {
            throw CompressionError.malformed("stored block length \(length) does not match its complement")
        }
        guard output.count + length <= limit else { throw tooLong(limit) }
        for _ in 0..<length { output.append(UInt8(try reader.bits(8))) }
    }

    private static func inflateBlock(_ reader: inout BitReader, literals: HuffmanTable, distances: HuffmanTable,
                                     into output: inout [UInt8], limit: Int) throws {
        while true {
            let symbol = try literals.decode(&reader)
            if symbol < 256 {
                guard output.count < limit else { throw tooLong(limit) }
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < lengthBases.count else { throw CompressionError.malformed("invalid length symbol \(symbol)") }
            let length = lengthBases[lengthIndex] + (try reader.bits(lengthExtraBits[lengthIndex]))
            let distanceSymbol = try distances.decode(&reader)
            guard distanceSymbol < distanceBases.count else {
                throw CompressionError.malformed("invalid distance symbol \(distanceSymbol)")
            }
            let distance = distanceBases[distanceSymbol] + (try reader.bits(distanceExtraBits[distanceSymbol]))
            guard distance <= output.count else {
                throw CompressionError.malformed("distance \(distance) reaches before the start of the output")
            }
            guard output.count + length <= limit else { throw tooLong(limit) }
            let from = output.count - distance
            for offset in 0..<length { output.append(output[from + offset]) }  // may overlap: byte by byte
        }
    }

    /// Reads a dynamic block's header: the code-length code, then the literal/length and distance code lengths.
    private static func readDynamicTables(_ reader: inout BitReader) throws -> (HuffmanTable, HuffmanTable) {
        let literalCount = try reader.bits(5) + 257
        let distanceCount = try reader.bits(5) + 1
        let codeLengthCount = try reader.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else {
            throw CompressionError.malformed("dynamic block declares \(literalCount) literal and \(distanceCount) distance codes")
        }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<codeLengthCount { codeLengthLengths[codeLengthOrder[i]] = UInt8(try reader.bits(3)) }
        let codeLengthTable = try HuffmanTable(lengths: codeLengthLengths)

        var lengths: [UInt8] = []
        let total = literalCount + distanceCount
        while lengths.count < total {
            let symbol = try codeLengthTable.decode(&reader)
            let repeated: UInt8, count: Int
            switch symbol {
            case 0...15: repeated = UInt8(symbol); count = 1
            case 16:
                guard let previous = lengths.last else { throw CompressionError.malformed("repeat code with no previous length") }
                repeated = previous; count = 3 + (try reader.bits(2))
            case 17: repeated = 0; count = 3 + (try reader.bits(3))
            default: repeated = 0; count = 11 + (try reader.bits(7))
            }
            guard lengths.count + count <= total else { throw CompressionError.malformed("code lengths overrun the table") }
            lengths.append(contentsOf: repeatElement(repeated, count: count))
        }
        guard lengths[256] != 0 else { throw CompressionError.malformed("dynamic block has no end-of-block code") }
        return (try HuffmanTable(lengths: Array(lengths[..<literalCount])),
                try HuffmanTable(lengths: Array(lengths[literalCount...])))
    }

    private static func tooLong(_ limit: Int) -> CompressionError {
        .malformed("decoded data exceeds the expected \(limit) bytes")
    }

    static let lengthBases = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                              131, 163, 195, 227, 258]
    static let lengthExtraBits = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBases = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtraBits = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
                                    13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// The fixed literal/length code of RFC 1951 §3.2.6 (lengths 8, 9, 7, 8 by symbol range).
    static let fixedLiteralLengths: [UInt8] = Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112)
        + Array(repeating: 7, count: 24) + Array(repeating: 8, count: 8)
    private static let fixedLiteralTable = HuffmanTable(validLengths: fixedLiteralLengths)
    private static let fixedDistanceTable = HuffmanTable(validLengths: Array(repeating: 5, count: 30))
}
