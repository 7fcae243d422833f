import Foundation
@testable import ImageFiles
import TestSupport
import XCTest

final class CompressionTests: XCTestCase {
    private struct Streams: Decodable {
        let text: String
        let tiny: String
        let zlib: [String: String]
        let gzip_text: String
    }

    private func bytes(_ base64: String) throws -> [UInt8] {
        try XCTUnwrap(Data(base64Encoded: base64).map { [UInt8]($0) })
    }

    /// Python's zlib at levels 0 (stored), 1 and 9 and Python's gzip decode to the original bytes.
    func testDecodesPythonStreams() throws {
        let streams = try Fixtures.json(Streams.self, "image/streams.json")
        XCTAssertEqual(streams.zlib.count, 6)
        for (name, stream) in streams.zlib {
            let original = try bytes(name.hasPrefix("text") ? streams.text : streams.tiny)
            XCTAssertEqual(try Decompression.zlib(try bytes(stream)), original, name)
        }
        XCTAssertEqual(try Decompression.gzip(try bytes(streams.gzip_text)), try bytes(streams.text))
        let twoMembers = try bytes(streams.gzip_text) + bytes(streams.gzip_text)
        XCTAssertEqual(try Decompression.gzip(twoMembers), try bytes(streams.text) + bytes(streams.text))
    }

    func testEncoderRoundTrip() throws {
        let streams = try Fixtures.json(Streams.self, "image/streams.json")
        var random: [UInt8] = []
        var state: UInt64 = 99
        for _ in 0..<70_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            random.append(UInt8(state >> 60))  // 16 symbols: matches and literals, spans the 32 KiB window
        }
        for input in [[], [1], try bytes(streams.text), random] {
            let compressed = Deflate.zlib(input)
            XCTAssertEqual(try Decompression.zlib(compressed), input)
        }
        XCTAssertLessThan(Deflate.zlib(try bytes(streams.text)).count, try bytes(streams.text).count / 5)
    }

    /// Fibonacci frequencies make a plain Huffman code 29 bits deep; the builder must keep it within 15 and valid.
    func testLengthLimitedCodes() throws {
        var fibonacci = [1, 1]
        while fibonacci.count < 30 { fibonacci.append(fibonacci[fibonacci.count - 1] + fibonacci[fibonacci.count - 2]) }
        let lengths = HuffmanCodeBuilder.lengths(frequencies: fibonacci, limit: 15)
        XCTAssertEqual(lengths.max(), 15)
        XCTAssertNoThrow(try HuffmanTable(lengths: lengths))
        XCTAssertEqual(HuffmanCodeBuilder.lengths(frequencies: [0, 5, 0], limit: 15), [0, 1, 0])
    }

    /// Incompressible bytes go out as stored blocks: barely larger than the input.
    func testIncompressibleDataIsStored() throws {
        var state: UInt64 = 7
        let noise = (0..<150_000).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(state >> 56)
        }
        let compressed = Deflate.zlib(noise)
        XCTAssertLessThan(compressed.count, noise.count + 64)
        XCTAssertEqual(try Decompression.zlib(compressed), noise)
    }

    func testChecksums() {
        XCTAssertEqual(Checksum.crc32(Array("123456789".utf8)), 0xcbf4_3926)
        XCTAssertEqual(Array("Wikipedia".utf8).withUnsafeBufferPointer { Checksum.adler32($0) }, 0x11e6_0398)
    }

    func testMalformedStreams() throws {
        let streams = try Fixtures.json(Streams.self, "image/streams.json")
        let good = try bytes(try XCTUnwrap(streams.zlib["text_level9"]))
        XCTAssertThrowsError(try Decompression.zlib(Array(good.prefix(good.count / 2)))) { error in
            XCTAssertEqual(error as? CompressionError, .truncated)
        }
        XCTAssertThrowsError(try Decompression.zlib([0x78, 0x00] + good.dropFirst(2)))  // header check
        XCTAssertThrowsError(try Decompression.zlib([0x78, 0x01, 0b111]))  // reserved block type
        XCTAssertThrowsError(try Decompression.zlib(try bytes(streams.text), limit: 10))
        XCTAssertThrowsError(try Decompression.zlib(good, limit: 100)) { error in
            guard case CompressionError.malformed = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Decompression.gzip(Array("plain text".utf8)))
        var badCRC = try bytes(streams.gzip_text)
        badCRC[badCRC.count - 6] ^= 1
        XCTAssertThrowsError(try Decompression.gzip(badCRC)) { error in
            guard case CompressionError.checksumMismatch = error else { return XCTFail("\(error)") }
        }
    }
}
