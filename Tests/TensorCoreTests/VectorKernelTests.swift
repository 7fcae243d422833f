import CKernels
import XCTest

/// Every SIMD variant of the vector kernels against the scalar reference, at lengths that cover each loop's
/// unrolled body, single-register steps and tails.
final class VectorKernelTests: XCTestCase {
    private let lengths = [0, 1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257]

    private func variants() -> [ck_vector_kernels] {
        (0..<ck_vector_variant_count()).map { ck_vector_variant($0)!.pointee }
    }

    func testTheActiveVariantIsTheFastestAvailable() {
        XCTAssertEqual(String(cString: ck_vector_variant(0)!.pointee.name), "scalar")
        XCTAssertEqual(ck_vector_active(), ck_vector_variant(ck_vector_variant_count() - 1))
        #if arch(x86_64)
        XCTAssertGreaterThanOrEqual(ck_vector_variant_count(), 2, "every x86-64 machine we run on has AVX2")
        #endif
    }

    func testBinaryKernelsAreExactInEveryVariant() {
        let scalar = variants()[0]
        for variant in variants() {
            for n in lengths {
                let a = randomTensor([n], seed: 500).scalars, b = randomTensor([n], seed: 501).scalars
                for op in [CK_BINARY_ADD, CK_BINARY_SUB, CK_BINARY_MUL] {
                    var expected = [Float](repeating: 0, count: n), got = expected, inPlace = a
                    scalar.binary(op, a, b, &expected, n)
                    variant.binary(op, a, b, &got, n)
                    XCTAssertEqual(got, expected, "\(String(cString: variant.name)) binary \(op) n=\(n)")
                    inPlace.withUnsafeMutableBufferPointer { variant.binary(op, $0.baseAddress, b, $0.baseAddress, n) }
                    XCTAssertEqual(inPlace, expected, "in place")
                    scalar.binary_scalar(op, a, 0.75, &expected, n)
                    variant.binary_scalar(op, a, 0.75, &got, n)
                    XCTAssertEqual(got, expected, "\(String(cString: variant.name)) binary_scalar \(op) n=\(n)")
                }
            }
        }
    }

    func testReductionsAgreeWithTheScalarVariant() {
        let scalar = variants()[0]
        for variant in variants() {
            for n in lengths {
                let a = randomTensor([n], seed: 502).scalars
                let name = "\(String(cString: variant.name)) n=\(n)"
                XCTAssertEqual(variant.sum(a, n), scalar.sum(a, n), accuracy: 1e-5 * Float(n + 1), name)
                XCTAssertEqual(variant.sum_squares(a, n), scalar.sum_squares(a, n), accuracy: 1e-5 * Float(n + 1), name)
                XCTAssertEqual(variant.max(a, n), scalar.max(a, n), name)
                for position in Set([0, n / 2, n - 1]) where n > 0 {
                    var withNaN = a
                    withNaN[position] = .nan
                    XCTAssertTrue(variant.max(withNaN, n).isNaN, "\(name) NaN at \(position)")
                }
            }
            XCTAssertEqual(variant.max([Float](), 0), -.infinity)
        }
    }

    func testTransposeIsExactInEveryVariant() {
        for variant in variants() {
            for (rows, columns) in [(1, 1), (3, 5), (8, 8), (9, 17), (70, 130), (128, 64)] {
                let (sourceLD, destinationLD) = (columns + 3, rows + 2)  // strided on both sides
                let source = randomTensor([rows * sourceLD], seed: 503).scalars
                var destination = [Float](repeating: .nan, count: columns * destinationLD)
                variant.transpose(source, sourceLD, &destination, destinationLD, rows, columns)
                for r in 0..<rows {
                    for c in 0..<columns where destination[c * destinationLD + r] != source[r * sourceLD + c] {
                        XCTFail("\(String(cString: variant.name)) \(rows)x\(columns): wrong element at (\(r), \(c))")
                        return
                    }
                }
                // Padding outside the transposed block is left alone.
                XCTAssertTrue(destination[rows].isNaN || destinationLD == rows)
            }
        }
    }
}
