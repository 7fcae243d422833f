import Foundation
import TensorCore

extension RGBImage {
    /// The image as a PNG file: 8-bit RGB, non-interlaced, each row filtered with whichever of the five PNG
    /// filters gives the smallest sum of absolute residuals, compressed by the package's own DEFLATE encoder.
    public func pngData() -> [UInt8] {
        var header = PNG.bigEndian(UInt32(width)) + PNG.bigEndian(UInt32(height))
        header += [8, PNG.colorTypeRGB, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        var file = PNG.signature
        appendChunk("IHDR", header, to: &file)
        appendChunk("IDAT", Deflate.zlib(filteredScanlines()), to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// Writes the PNG to `url` through an ``OutputFile``: the file at `url` is either the complete image or
    /// untouched, and only a regular file is ever replaced.
    /// - Throws: ``OutputFileError`` naming the path.
    public func writePNG(to url: URL) throws {
        try OutputFile.write(pngData(), toPath: url.path)
    }

    /// Writes the PNG into `file`, prepared by the caller, who commits it (with the run's other outputs, say).
    /// - Throws: ``OutputFileError`` naming the path.
    public func writePNG(into file: OutputFile) throws {
        try file.write(pngData())
    }

    /// Each row as its filter-type byte followed by the filtered bytes.
    private func filteredScanlines() -> [UInt8] {
        let rowBytes = width * 3
        var output = [UInt8]()
        output.reserveCapacity(height * (rowBytes + 1))
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        var candidate = [UInt8](repeating: 0, count: rowBytes)
        var best = [UInt8](repeating: 0, count: rowBytes)
        pixels.withUnsafeBufferPointer { all in
            zeros.withUnsafeBufferPointer { zeroRow in
                for y in 0..<height {
                    let row = UnsafeBufferPointer(rebasing: all[y * rowBytes..<(y + 1) * rowBytes])
                    let previous = y > 0 ? UnsafeBufferPointer(rebasing: all[(y - 1) * rowBytes..<y * rowBytes]) : zeroRow
                    var bestFilter = PNG.Filter.none, bestCost = Int.max
                    for filter in PNG.Filter.allCases {
                        var cost = 0
                        for i in 0..<rowBytes {
                            let residual = row[i] &- PNG.prediction(filter, row: row, previous: previous, index: i, bytesPerPixel: 3)
                            candidate[i] = residual
                            cost += Int(min(residual, 0 &- residual))  // |residual| as a signed byte
                        }
                        if cost < bestCost {
                            bestCost = cost
                            bestFilter = filter
                            swap(&best, &candidate)
                        }
                    }
                    output.append(bestFilter.rawValue)
                    output.append(contentsOf: best)
                }
            }
        }
        return output
    }

    private func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file += PNG.bigEndian(UInt32(data.count)) + typeBytes + data
        file += PNG.bigEndian(Checksum.crc32(data, continuing: Checksum.crc32(typeBytes)))
    }
}
