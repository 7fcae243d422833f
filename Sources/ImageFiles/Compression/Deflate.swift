/// A DEFLATE (RFC 1951) encoder: greedy LZ77 matches (``LZ77``), written in blocks of dynamic Huffman codes
/// fitted to each block, or stored as is when that is smaller (noise-like data). No system zlib needed.
enum Deflate {
    /// Tokens per block: each block gets codes fitted to its own statistics.
    private static let tokensPerBlock = 1 << 15
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// `data` as a zlib stream (RFC 1950): header, DEFLATE data, Adler-32.
    static func zlib(_ data: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes = [0x78, 0x5e]  // DEFLATE, 32 KiB window, level hint 1; 0x785e is a multiple of 31
        let tokens = LZ77.tokens(data)
        var start = 0, byteStart = 0
        repeat {
            let end = min(start + tokensPerBlock, tokens.count)
            let block = tokens[start..<end]
            let byteEnd = byteStart + block.reduce(0) { $0 + $1.byteCount }
            writeBlock(block, bytes: data[byteStart..<byteEnd], isFinal: end == tokens.count, into: &writer)
            (start, byteStart) = (end, byteEnd)
        } while start < tokens.count
        writer.flushToByte()
        let adler = data.withUnsafeBufferPointer { Checksum.adler32($0) }
        writer.bytes += [UInt8(adler >> 24), UInt8(adler >> 16 & 0xff), UInt8(adler >> 8 & 0xff), UInt8(adler & 0xff)]
        return writer.bytes
    }

    /// One block, dynamic Huffman or stored, whichever is shorter.
    private static func writeBlock(_ tokens: ArraySlice<LZ77.Token>, bytes: ArraySlice<UInt8>, isFinal: Bool, into writer: inout BitWriter) {
        var literalFrequencies = [Int](repeating: 0, count: 286), distanceFrequencies = [Int](repeating: 0, count: 30)
        for token in tokens {
            if token.distance == 0 {
                literalFrequencies[Int(token.lengthOrLiteral)] += 1
            } else {
                literalFrequencies[257 + lengthIndex(Int(token.lengthOrLiteral))] += 1
                distanceFrequencies[distanceIndex(Int(token.distance))] += 1
            }
        }
        literalFrequencies[256] = 1  // end of block
        if distanceFrequencies.allSatisfy({ $0 == 0 }) { distanceFrequencies[0] = 1 }  // at least one distance code
        let literalLengths = HuffmanCodeBuilder.lengths(frequencies: literalFrequencies, limit: 15)
        let distanceLengths = HuffmanCodeBuilder.lengths(frequencies: distanceFrequencies, limit: 15)
        var header = BitWriter()
        writeCodeLengths(literalLengths, distanceLengths, into: &header)
        var dataBits = 0
        for symbol in 0..<286 { dataBits += literalFrequencies[symbol] * Int(literalLengths[symbol]) }
        for symbol in 0..<30 { dataBits += distanceFrequencies[symbol] * Int(distanceLengths[symbol]) }
        for token in tokens where token.distance != 0 {
            dataBits += Inflate.lengthExtraBits[lengthIndex(Int(token.lengthOrLiteral))]
                + Inflate.distanceExtraBits[distanceIndex(Int(token.distance))]
        }
        let dynamicBits = 3 + header.bitCount + dataBits
        let storedBits = 3 + 7 + (bytes.count / 65_535 + 1) * 32 + bytes.count * 8
        if storedBits < dynamicBits {
            writeStored(bytes, isFinal: isFinal, into: &writer)
            return
        }
        writer.write(isFinal ? 1 : 0, bits: 1)
        writer.write(2, bits: 2)  // BTYPE = dynamic Huffman
        writer.append(header)
        let literalCodes = HuffmanCodeBuilder.codes(lengths: literalLengths)
        let distanceCodes = HuffmanCodeBuilder.codes(lengths: distanceLengths)
        for token in tokens {
            if token.distance == 0 {
                writer.writeCode(literalCodes[Int(token.lengthOrLiteral)], length: Int(literalLengths[Int(token.lengthOrLiteral)]))
                continue
            }
            let length = Int(token.lengthOrLiteral), distance = Int(token.distance)
            let lengthSymbol = lengthIndex(length), distanceSymbol = distanceIndex(distance)
            writer.writeCode(literalCodes[257 + lengthSymbol], length: Int(literalLengths[257 + lengthSymbol]))
            writer.write(length - Inflate.lengthBases[lengthSymbol], bits: Inflate.lengthExtraBits[lengthSymbol])
            writer.writeCode(distanceCodes[distanceSymbol], length: Int(distanceLengths[distanceSymbol]))
            writer.write(distance - Inflate.distanceBases[distanceSymbol], bits: Inflate.distanceExtraBits[distanceSymbol])
        }
        writer.writeCode(literalCodes[256], length: Int(literalLengths[256]))
    }

    /// A dynamic block's header after BTYPE: HLIT, HDIST, HCLEN, the code-length code, then both code-length
    /// lists run-length encoded with symbols 16 (repeat previous 3–6), 17 (3–10 zeros) and 18 (11–138 zeros).
    private static func writeCodeLengths(_ literalLengths: [UInt8], _ distanceLengths: [UInt8], into writer: inout BitWriter) {
        let literalCount = max(257, (literalLengths.lastIndex { $0 != 0 } ?? 0) + 1)
        let distanceCount = max(1, (distanceLengths.lastIndex { $0 != 0 } ?? 0) + 1)
        let all = Array(literalLengths[..<literalCount] + distanceLengths[..<distanceCount])
        var runs: [(symbol: Int, extra: Int, extraBits: Int)] = []
        var i = 0
        while i < all.count {
            var run = 1
            while i + run < all.count, all[i + run] == all[i] { run += 1 }
            if all[i] == 0 && run >= 3 {
                let take = min(run, 138)
                runs.append(take >= 11 ? (18, take - 11, 7) : (17, take - 3, 3))
                i += take
            } else if all[i] != 0 && i > 0 && all[i - 1] == all[i] && run >= 3 {
                let take = min(run, 6)
                runs.append((16, take - 3, 2))
                i += take
            } else {
                runs.append((Int(all[i]), 0, 0))
                i += 1
            }
        }
        var frequencies = [Int](repeating: 0, count: 19)
        for run in runs { frequencies[run.symbol] += 1 }
        let lengths = HuffmanCodeBuilder.lengths(frequencies: frequencies, limit: 7)
        let codes = HuffmanCodeBuilder.codes(lengths: lengths)
        let codeLengthCount = max(4, (codeLengthOrder.lastIndex { lengths[$0] != 0 } ?? 0) + 1)
        writer.write(literalCount - 257, bits: 5)
        writer.write(distanceCount - 1, bits: 5)
        writer.write(codeLengthCount - 4, bits: 4)
        for symbol in codeLengthOrder.prefix(codeLengthCount) { writer.write(Int(lengths[symbol]), bits: 3) }
        for run in runs {
            writer.writeCode(codes[run.symbol], length: Int(lengths[run.symbol]))
            writer.write(run.extra, bits: run.extraBits)
        }
    }

    /// The bytes as stored blocks of at most 65 535 bytes.
    private static func writeStored(_ bytes: ArraySlice<UInt8>, isFinal: Bool, into writer: inout BitWriter) {
        var start = bytes.startIndex
        repeat {
            let end = min(start + 65_535, bytes.endIndex)
            writer.write(isFinal && end == bytes.endIndex ? 1 : 0, bits: 1)
            writer.write(0, bits: 2)
            writer.flushToByte()
            let length = end - start
            writer.bytes += [UInt8(length & 0xff), UInt8(length >> 8), UInt8(~length & 0xff), UInt8(~length >> 8 & 0xff)]
            writer.bytes += bytes[start..<end]
            start = end
        } while start < bytes.endIndex
    }

    /// Index into the length tables (symbol − 257) of a match length 3...258.
    private static func lengthIndex(_ length: Int) -> Int {
        lengthIndexTable[length]
    }

    /// Index into the distance tables (the distance symbol) of a distance 1...32768.
    private static func distanceIndex(_ distance: Int) -> Int {
        var low = 0, high = Inflate.distanceBases.count - 1
        while low < high {  // the last base not above `distance`
            let middle = (low + high + 1) / 2
            if Inflate.distanceBases[middle] <= distance { low = middle } else { high = middle - 1 }
        }
        return low
    }

    private static let lengthIndexTable: [Int] = (0...LZ77.maximumMatch).map { length in
        Inflate.lengthBases.lastIndex { $0 <= length } ?? 0
    }
}
