import Foundation

/// Splits a PNG file into chunks, checking lengths and CRCs.
enum PNGChunkReader {
    /// One chunk: its four-letter type and its data.
    struct Chunk {
        let type: String
        let data: [UInt8]
    }

    /// All chunks after the signature, up to and including IEND.
    static func chunks(of bytes: [UInt8], source: String) throws -> [Chunk] {
        var chunks: [Chunk] = []
        var position = PNG.signature.count
        while chunks.last?.type != "IEND" {
            guard position + 12 <= bytes.count else {
                throw ImageError.corruptPNG(source: source, reason: "truncated before IEND (at byte \(position))")
            }
            let length = Int(bytes[position..<position + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let typeBytes = Array(bytes[position + 4..<position + 8])
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }),
                  let type = String(bytes: typeBytes, encoding: .ascii) else {
                throw ImageError.corruptPNG(source: source, reason: "invalid chunk type at byte \(position + 4)")
            }
            guard length <= Int(Int32.max), position + 12 + length <= bytes.count else {
                throw ImageError.corruptPNG(source: source, reason: "\(type) chunk of \(length) bytes runs past the end of the file")
            }
            let data = Array(bytes[position + 8..<position + 8 + length])
            let storedCRC = bytes[position + 8 + length..<position + 12 + length].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard storedCRC == Checksum.crc32(data, continuing: Checksum.crc32(typeBytes)) else {
                throw ImageError.corruptPNG(source: source, reason: "CRC mismatch in \(type) chunk at byte \(position)")
            }
            chunks.append(Chunk(type: type, data: data))
            position += 12 + length
        }
        guard position == bytes.count else {
            throw ImageError.corruptPNG(source: source, reason: "\(bytes.count - position) bytes after IEND")
        }
        return chunks
    }
}
