import Foundation
import TensorCore

extension RGBImage {
    /// Reads a PNG file: 8-bit RGB, non-interlaced (what ``pngData()`` writes, and what Pillow writes for RGB).
    /// - Throws: ``ImageError`` naming the file: unreadable, not a PNG, corrupt, or unsupported.
    public init(contentsOfPNG url: URL) throws {
        let data: Data
        do {
            data = try RegularFile.contents(atPath: url.path)
        } catch let error as FileReadError {
            throw ImageError.unreadable(path: url.path, reason: error.reason)
        }
        try self.init(pngData: [UInt8](data), source: url.path)
    }

    /// Decodes PNG bytes, checking the signature, every chunk's CRC, the IHDR/IDAT/IEND order, the zlib stream and
    /// the scanline filters.
    /// - Parameter source: how errors name the data (a path, or a description).
    /// - Throws: ``ImageError`` naming `source`.
    public init(pngData bytes: [UInt8], source: String = "PNG data") throws {
        guard bytes.count >= PNG.signature.count, Array(bytes[0..<PNG.signature.count]) == PNG.signature else {
            throw ImageError.notPNG(source: source)
        }
        let chunks = try PNGChunkReader.chunks(of: bytes, source: source)
        let corrupt = { (reason: String) in ImageError.corruptPNG(source: source, reason: reason) }
        guard let header = chunks.first, header.type == "IHDR" else { throw corrupt("the first chunk is not IHDR") }
        guard let last = chunks.last, last.type == "IEND", last.data.isEmpty else { throw corrupt("missing or non-empty IEND") }
        let (width, height) = try Self.validateHeader(header.data, source: source)

        let dataChunkIndices = chunks.indices.filter { chunks[$0].type == "IDAT" }
        guard let firstData = dataChunkIndices.first, let lastData = dataChunkIndices.last else { throw corrupt("no IDAT chunk") }
        guard lastData - firstData + 1 == dataChunkIndices.count else { throw corrupt("IDAT chunks are not consecutive") }
        for chunk in chunks.dropFirst().dropLast() where chunk.type != "IDAT" {
            if ["IHDR", "IEND"].contains(chunk.type) { throw corrupt("a second \(chunk.type) chunk") }
            // Critical chunks (upper-case first letter) other than PLTE change the meaning of the image.
            if chunk.type.first?.isUppercase == true && chunk.type != "PLTE" {
                throw ImageError.unsupportedPNG(source: source, reason: "critical chunk \(chunk.type)")
            }
        }

        let rowBytes = width * 3
        let expected = height * (rowBytes + 1)
        let compressed = dataChunkIndices.flatMap { chunks[$0].data }
        let filtered: [UInt8]
        do {
            filtered = try Decompression.zlib(compressed, limit: expected)
        } catch {
            throw corrupt("image data: \(error)")
        }
        guard filtered.count == expected else { throw corrupt("image data has \(filtered.count) bytes, expected \(expected)") }
        try self.init(width: width, height: height, pixels: Self.unfilter(filtered, width: width, height: height, source: source))
    }

    /// Checks IHDR: positive size within limits, bit depth 8, colour type RGB, standard methods, no interlace.
    private static func validateHeader(_ data: [UInt8], source: String) throws -> (Int, Int) {
        guard data.count == 13 else { throw ImageError.corruptPNG(source: source, reason: "IHDR has \(data.count) bytes, expected 13") }
        let field = { (offset: Int) in Int(data[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
        let width = field(0), height = field(4)
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError.corruptPNG(source: source, reason: "image size \(width)x\(height)")
        }
        guard width * height * 3 <= PNG.maximumRawBytes else {
            throw ImageError.unsupportedPNG(source: source, reason: "image size \(width)x\(height) is larger than this reader accepts")
        }
        guard data[8] == 8, data[9] == PNG.colorTypeRGB else {
            throw ImageError.unsupportedPNG(source: source, reason: "bit depth \(data[8]) colour type \(data[9]) (only 8-bit RGB, type 2)")
        }
        guard data[10] == 0, data[11] == 0 else {
            throw ImageError.corruptPNG(source: source, reason: "compression method \(data[10]), filter method \(data[11])")
        }
        guard data[12] == 0 else { throw ImageError.unsupportedPNG(source: source, reason: "interlace method \(data[12])") }
        return (width, height)
    }

    /// Undoes the per-row filters.
    private static func unfilter(_ filtered: [UInt8], width: Int, height: Int, source: String) throws -> [UInt8] {
        let rowBytes = width * 3
        var pixels = [UInt8](repeating: 0, count: height * rowBytes)
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        try pixels.withUnsafeMutableBufferPointer { output in
            try zeros.withUnsafeBufferPointer { zeroRow in
                for y in 0..<height {
                    let typeByte = filtered[y * (rowBytes + 1)]
                    guard let filter = PNG.Filter(rawValue: typeByte) else {
                        throw ImageError.corruptPNG(source: source, reason: "row \(y) has filter type \(typeByte)")
                    }
                    let row = UnsafeMutableBufferPointer(rebasing: output[y * rowBytes..<(y + 1) * rowBytes])
                    let previous = y > 0 ? UnsafeBufferPointer(rebasing: output[(y - 1) * rowBytes..<y * rowBytes]) : zeroRow
                    for i in 0..<rowBytes {
                        let prediction = PNG.prediction(filter, row: UnsafeBufferPointer(row), previous: previous, index: i, bytesPerPixel: 3)
                        row[i] = filtered[y * (rowBytes + 1) + 1 + i] &+ prediction
                    }
                }
            }
        }
        return pixels
    }
}
