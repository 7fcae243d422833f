import CKernels
import XCTest

/// Every SIMD variant of the F16/BF16 conversions against the scalar reference on all 65536 bit patterns,
/// from unaligned sources and at lengths that exercise each loop's body and tail.
final class ConvertKernelTests: XCTestCase {
    private func variants() -> [ck_convert_kernels] {
        (0..<ck_convert_variant_count()).map { ck_convert_variant($0)!.pointee }
    }

    /// All 65536 values, little-endian, starting one byte into the buffer (an odd address).
    private let allHalves: [UInt8] = [0xAA] + (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }

    private func convert(_ function: (UnsafeRawPointer?, UnsafeMutablePointer<Float>?, Int) -> Void, count: Int = 65536) -> [UInt32] {
        var out = [Float](repeating: 0, count: count)
        allHalves.withUnsafeBytes { function($0.baseAddress! + 1, &out, count) }
        return out.map(\.bitPattern)
    }

    func testVariantsAvailable() {
        XCTAssertEqual(String(cString: variants()[0].name), "scalar")
        #if arch(x86_64)
        XCTAssertGreaterThanOrEqual(variants().count, 2, "every x86-64 machine we run on has F16C")
        #endif
    }

    func testScalarHalfConversionKnownValues() {
        let scalar = convert(variants()[0].f16_to_f32)
        XCTAssertEqual(scalar[0x0000], Float(0).bitPattern)
        XCTAssertEqual(scalar[0x8000], Float(-0.0).bitPattern)
        XCTAssertEqual(scalar[0x0001], Float(bitPattern: 0x3380_0000).bitPattern)  // 2^-24, smallest subnormal
        XCTAssertEqual(scalar[0x03FF], (Float(1023) * 0x1p-24).bitPattern)          // largest subnormal
        XCTAssertEqual(scalar[0x3C00], Float(1).bitPattern)
        XCTAssertEqual(scalar[0x7BFF], Float(65504).bitPattern)
        XCTAssertEqual(scalar[0x7C00], Float.infinity.bitPattern)
        XCTAssertEqual(scalar[0xFC00], (-Float.infinity).bitPattern)
        XCTAssertEqual(scalar[0x7C01], 0x7FC0_2000, "a signalling NaN comes out quiet, payload kept")
        XCTAssertEqual(scalar[0xFE00], 0xFFC0_0000)
    }

    func testEveryVariantMatchesTheScalarOnAllHalfValues() {
        let scalar = convert(variants()[0].f16_to_f32)
        let scalarBF16 = convert(variants()[0].bf16_to_f32)
        XCTAssertEqual(scalarBF16[0x3F80], Float(1).bitPattern)
        XCTAssertEqual(scalarBF16[0x7F81], 0x7F81_0000, "bfloat16 widening keeps NaNs as they are")
        for variant in variants() {
            let name = String(cString: variant.name)
            XCTAssertEqual(convert(variant.f16_to_f32), scalar, "\(name) f16")
            XCTAssertEqual(convert(variant.bf16_to_f32), scalarBF16, "\(name) bf16")
            for count in [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 65] {
                XCTAssertEqual(convert(variant.f16_to_f32, count: count), Array(scalar.prefix(count)), "\(name) f16 count \(count)")
                XCTAssertEqual(convert(variant.bf16_to_f32, count: count), Array(scalarBF16.prefix(count)), "\(name) bf16 count \(count)")
            }
        }
    }

    func testDoubleConversionRoundsToNearestEven() {
        let values: [Double] = [0.1, 1 + 0x1p-24, 1 + 0x1p-23 + 0x1p-24, 1e300, -1e-50, .nan]
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBytes { ck_f64_to_f32($0.baseAddress, &out, values.count) }
        XCTAssertEqual(Array(out.prefix(5)), [Float(0.1), 1, 1 + 0x1p-22, .infinity, -0.0])
        XCTAssertTrue(out[5].isNaN)
    }
}
