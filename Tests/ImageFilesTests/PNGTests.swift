import Foundation
@testable import ImageFiles
import TensorCore
import TestSupport
import XCTest

final class PNGTests: XCTestCase {
    private struct Pixels: Decodable { let width: Int; let height: Int; let pixels: [UInt8] }

    /// A small image with smooth and noisy parts, so every PNG filter and LZ77 matches get exercised.
    private func sampleImage(width: Int = 29, height: Int = 17) throws -> RGBImage {
        var pixels = [UInt8]()
        var state: UInt32 = 12345
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 1_103_515_245 &+ 12345
                let noise = UInt8(state >> 27)
                pixels += [UInt8(x * 8 % 256), UInt8(y * 15 % 256) &+ noise, x < width / 2 ? 200 : noise]
            }
        }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    func testImageInitValidates() {
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [0, 1, 2]))
        XCTAssertThrowsError(try RGBImage(width: 0, height: 2, pixels: []))
    }

    // MARK: PNG

    func testWriteReadRoundTrip() throws {
        for (width, height) in [(1, 1), (29, 17), (64, 3)] {
            let image = try sampleImage(width: width, height: height)
            let data = image.pngData()
            XCTAssertEqual(Array(data.prefix(8)), PNG.signature)
            XCTAssertEqual(try RGBImage(pngData: data), image, "\(width)x\(height)")
        }
    }

    func testCompressesRepetitiveImages() throws {
        let flat = try RGBImage(width: 64, height: 64, pixels: [UInt8](repeating: 90, count: 64 * 64 * 3))
        XCTAssertLessThan(flat.pngData().count, 300)
    }

    /// Pillow's file uses zlib's dynamic Huffman blocks and its own filter choices.
    func testReadsPillowPNG() throws {
        let expected = try Fixtures.json(Pixels.self, "image/pillow_rgb_37x23.json")
        let image = try RGBImage(contentsOfPNG: Fixtures.url("image/pillow_rgb_37x23.png"))
        XCTAssertEqual(image, try RGBImage(width: expected.width, height: expected.height, pixels: expected.pixels))
    }

    func testAtomicWriteAndUnwritablePath() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let url = folder.appendingPathComponent("out.png")
        let image = try sampleImage()
        try image.writePNG(to: url)
        XCTAssertEqual(try RGBImage(contentsOfPNG: url), image)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["out.png"], "no temporary file left")

        let missing = folder.appendingPathComponent("no/such/folder/out.png")
        XCTAssertThrowsError(try image.writePNG(to: missing)) { error in
            guard case OutputFileError.cannotCreate(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, missing.path)
        }
        XCTAssertThrowsError(try image.writePNG(to: folder)) { error in
            XCTAssertEqual(error as? OutputFileError, .notRegularFile(path: folder.path, kind: "a directory"))
        }
        XCTAssertThrowsError(try RGBImage(contentsOfPNG: missing)) { error in
            guard case ImageError.unreadable = error else { return XCTFail("\(error)") }
        }
    }

    func testBadPNGBytes() throws {
        let good = try sampleImage().pngData()
        func expectCorrupt(_ bytes: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try RGBImage(pngData: bytes, source: "test.png"), label, file: file, line: line) { error in
                guard case ImageError.corruptPNG(let source, _) = error else { return XCTFail("\(label): \(error)", file: file, line: line) }
                XCTAssertEqual(source, "test.png")
            }
        }
        XCTAssertThrowsError(try RGBImage(pngData: Array("GIF89a".utf8))) { error in
            guard case ImageError.notPNG = error else { return XCTFail("\(error)") }
        }
        expectCorrupt(Array(good.prefix(good.count - 5)), "truncated")
        expectCorrupt(good + [0], "trailing byte")
        var badCRC = good
        badCRC[20] ^= 0xff  // inside IHDR data
        expectCorrupt(badCRC, "IHDR CRC")

        // Re-assemble files chunk by chunk to break the structure while keeping CRCs valid.
        let chunks = try PNGChunkReader.chunks(of: good, source: "")
        func file(_ parts: [(String, [UInt8])]) -> [UInt8] {
            var bytes = PNG.signature
            for (type, data) in parts {
                let typeBytes = Array(type.utf8)
                bytes += PNG.bigEndian(UInt32(data.count)) + typeBytes + data
                bytes += PNG.bigEndian(Checksum.crc32(data, continuing: Checksum.crc32(typeBytes)))
            }
            return bytes
        }
        let header = chunks[0].data, idat = chunks[1].data
        expectCorrupt(file([("IDAT", idat), ("IHDR", header), ("IEND", [])]), "IHDR not first")
        expectCorrupt(file([("IHDR", header), ("IEND", [])]), "no IDAT")
        expectCorrupt(file([("IHDR", header), ("IDAT", Array(idat.prefix(10))), ("IEND", [])]), "short zlib stream")
        var badAdler = idat
        badAdler[badAdler.count - 1] ^= 1
        expectCorrupt(file([("IHDR", header), ("IDAT", badAdler), ("IEND", [])]), "Adler-32")
        let split = idat.count / 2
        expectCorrupt(file([("IHDR", header), ("IDAT", Array(idat[..<split])), ("tEXt", Array("a\0b".utf8)),
                            ("IDAT", Array(idat[split...])), ("IEND", [])]), "IDAT not consecutive")
        XCTAssertEqual(try RGBImage(pngData: file([("IHDR", header), ("IDAT", Array(idat[..<split])),
                                                   ("IDAT", Array(idat[split...])), ("IEND", [])])),
                       try sampleImage(), "split IDAT is fine")
        var zeroWidth = header
        zeroWidth[0...3] = [0, 0, 0, 0]
        expectCorrupt(file([("IHDR", zeroWidth), ("IDAT", idat), ("IEND", [])]), "zero width")
        let badFilter = Deflate.zlib([7] + [UInt8](repeating: 0, count: 29 * 3) + [UInt8](repeating: 0, count: 16 * (29 * 3 + 1)))
        expectCorrupt(file([("IHDR", header), ("IDAT", badFilter), ("IEND", [])]), "filter type 7")

        var rgba = header
        rgba[9] = 6
        XCTAssertThrowsError(try RGBImage(pngData: file([("IHDR", rgba), ("IDAT", idat), ("IEND", [])]))) { error in
            guard case ImageError.unsupportedPNG = error else { return XCTFail("\(error)") }
        }
        var interlaced = header
        interlaced[12] = 1
        XCTAssertThrowsError(try RGBImage(pngData: file([("IHDR", interlaced), ("IDAT", idat), ("IEND", [])]))) { error in
            guard case ImageError.unsupportedPNG = error else { return XCTFail("\(error)") }
        }
    }
}
