import CKernels
import XCTest
@testable import TensorCore

/// The reader against files written (or read back) by the Python `safetensors` package:
/// Scripts/reference/make_safetensors_fixtures.py.
final class SafeTensorsReaderTests: XCTestCase {
    private func bits(_ tensor: Tensor) -> [UInt32] { tensor.scalars.map(\.bitPattern) }

    func testHeaderOfAFileWrittenByPython() throws {
        let file = try SafeTensorsFile(contentsOf: fixtureURL("dtypes.safetensors"))
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "grüße \"quoted\" \\ ✓"])
        XCTAssertEqual(file.tensorNames, ["bf16", "bf16_as_f32", "bool", "empty", "empty_2d", "f16_all", "f16_all_as_f32", "f32",
                                          "f64", "f64_as_f32", "i16", "i32", "i64", "i8", "scalar", "u8"])
        XCTAssertEqual(try file.descriptor("f16_all").dtype, .f16)
        XCTAssertEqual(try file.descriptor("f16_all").shape, [65536])
        XCTAssertEqual(try file.descriptor("empty_2d").shape, [2, 0, 3])
        XCTAssertEqual(try file.descriptor("scalar").shape, [])
    }

    func testFloatTensorsMatchTorchBitForBit() throws {
        let file = try SafeTensorsFile(contentsOf: fixtureURL("dtypes.safetensors"))
        // Every binary16 value, NaNs included (torch quiets them as we do), against torch's own conversion.
        XCTAssertEqual(bits(try file.tensor("f16_all")), bits(try file.tensor("f16_all_as_f32")))
        XCTAssertEqual(bits(try file.tensor("bf16")), bits(try file.tensor("bf16_as_f32")))
        XCTAssertEqual(bits(try file.tensor("f64")), bits(try file.tensor("f64_as_f32")))
        let f32 = try file.tensor("f32")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(bits(f32), [1.5, -2.25, Float(3.0e-39 as Double), -0.0, .infinity, 65504].map(\.bitPattern))
        XCTAssertEqual(try file.tensor("scalar"), try Tensor(shape: [], scalars: [-4.75]))
        XCTAssertEqual(try file.tensor("empty").shape, [0])
        XCTAssertEqual(try file.tensor("empty_2d").shape, [2, 0, 3])
    }

    func testIntegerTensors() throws {
        let file = try SafeTensorsFile(contentsOf: fixtureURL("dtypes.safetensors"))
        XCTAssertEqual(try file.integers("i64"), [Int.min, Int.max, -1, 0, 1 << 40, -(1 << 40)])
        XCTAssertEqual(try file.integers("i32"), [Int(Int32.min), Int(Int32.max), -7, 0])
        XCTAssertEqual(try file.integers("u8"), [0, 1, 127, 128, 255])
        XCTAssertEqual(try file.integers("i16"), [Int(Int16.min), Int(Int16.max), -1])
        XCTAssertEqual(try file.integers("i8"), [-128, 127, 0])
        XCTAssertEqual(try file.integers("bool"), [1, 0, 1])
    }

    func testUnalignedOffsetsReadAsPythonReadsThem() throws {
        let file = try SafeTensorsFile(contentsOf: fixtureURL("unaligned.safetensors"))
        let expected = try SafeTensorsFile(contentsOf: fixtureURL("unaligned_expected.safetensors"))
        XCTAssertEqual(file.tensorNames, expected.tensorNames)
        for name in ["f32", "f16", "bf16", "f64"] {
            XCTAssertEqual(bits(try file.tensor(name)), bits(try expected.tensor(name)), name)
        }
        for name in ["u8", "i64", "i32"] {
            XCTAssertEqual(try file.integers(name), try expected.integers(name), name)
        }
    }

    func testAskingForTheWrongKindOfTensor() throws {
        let url = fixtureURL("dtypes.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertThrowsError(try file.tensor("i64")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .unsupportedDType(path: url.path, tensor: "i64", dtype: "I64", wanted: "float"))
            XCTAssertEqual("\(error)", "\(url.path): tensor 'i64' has dtype I64, which cannot be read as float")
        }
        XCTAssertThrowsError(try file.integers("f32")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .unsupportedDType(path: url.path, tensor: "f32", dtype: "F32", wanted: "integers"))
        }
        XCTAssertThrowsError(try file.tensor("missing")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .tensorNotFound(path: url.path, tensor: "missing"))
            XCTAssertEqual("\(error)", "\(url.path): no tensor named 'missing'")
        }
    }

    func testReadingIntoCallerMemory() throws {
        let url = fixtureURL("dtypes.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        file.prefetch()
        var values = [Float](repeating: .nan, count: 6)
        try values.withUnsafeMutableBufferPointer { try file.read("f32", into: $0) }
        XCTAssertEqual(values.map(\.bitPattern), try file.tensor("f32").scalars.map(\.bitPattern))
        var tooFew = [Float](repeating: 0, count: 5)
        XCTAssertThrowsError(try tooFew.withUnsafeMutableBufferPointer { try file.read("f32", into: $0) }) { error in
            XCTAssertEqual("\(error)", "\(url.path): tensor 'f32': holds 6 elements, the destination 5")
        }
        XCTAssertThrowsError(try tooFew.withUnsafeMutableBufferPointer { try file.read("i8", into: $0) }) { error in
            XCTAssertEqual(error as? SafeTensorsError, .unsupportedDType(path: url.path, tensor: "i8", dtype: "I8", wanted: "float"))
        }
    }

    func testLargeHalfTensorsConvertThreaded() throws {
        // Above the 2^18-element grain, conversion is split over the pool; compare with the scalar kernel.
        let count = 600_000
        var generator = SeededGenerator(seed: 9)
        let halves = (0..<count).map { _ in UInt16.random(in: 0...UInt16.max, using: &generator) }
        let url = try MalformedFile.make(header: "{\"h\":{\"dtype\":\"F16\",\"shape\":[\(count)],\"data_offsets\":[0,\(2 * count)]}}",
                                         data: halves.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        defer { try? FileManager.default.removeItem(at: url) }
        var expected = [Float](repeating: 0, count: count)
        ck_convert_variant(0)!.pointee.f16_to_f32(halves, &expected, count)
        XCTAssertEqual(bits(try SafeTensorsFile(contentsOf: url).tensor("h")), expected.map(\.bitPattern))
    }

    func testU64ValuesBeyondIntFailWhenRead() throws {
        let url = try MalformedFile.make(header: "{\(MalformedFile.entry(dtype: "U64", shape: "[1]"))}", data: [UInt8](repeating: 0xFF, count: 8))
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: url).integers("t")) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .invalidTensor(path: url.path, tensor: "t", reason: "U64 value \(UInt64.max) at index 0 does not fit in Int"))
        }
    }

    func testAFileTruncatedWhileOpenThrowsInsteadOfCrashing() throws {
        let url = temporaryURL("shrinking.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(entries: ["x": .float32(randomTensor([1000], seed: 10)), "i": .int64(shape: [2], values: [1, 2])], to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        let (x, i) = (try file.descriptor("x").byteRange, try file.descriptor("i").byteRange)
        XCTAssertEqual(truncate(url.path, off_t(file.dataOffset + 4)), 0)
        XCTAssertThrowsError(try file.tensor("x")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .invalidTensor(path: url.path, tensor: "x", reason: "cannot read bytes \(file.dataOffset + x.lowerBound)..<\(file.dataOffset + x.upperBound): the file ends first (changed while open?)"))
        }
        XCTAssertThrowsError(try file.integers("i")) { error in
            XCTAssertEqual(error as? SafeTensorsError, .invalidTensor(path: url.path, tensor: "i", reason: "cannot read bytes \(file.dataOffset + i.lowerBound)..<\(file.dataOffset + i.upperBound): the file ends first (changed while open?)"))
        }
    }
}
