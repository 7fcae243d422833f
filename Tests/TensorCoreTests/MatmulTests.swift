import XCTest
@testable import TensorCore

/// `Tensor.matmul` (batched, broadcast, transposed) and the packed-weight `matmul` / `addMatmul`, against a
/// double-precision reference.
final class MatmulTests: XCTestCase {
    private let pool = ThreadPool(threadCount: 3)

    /// `op(a)·op(b)` for one batch entry of rank-3 (or rank-2, shared) operands, in double precision.
    private func reference(_ a: Tensor, _ b: Tensor, batch: Int, transposeA: Bool, transposeB: Bool) -> [Double] {
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let n = transposeB ? br : bc
        let aOffset = a.count == ar * ac ? 0 : batch * ar * ac
        let bOffset = b.count == br * bc ? 0 : batch * br * bc
        let (x, y) = (a.scalars, b.scalars)
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                for p in 0..<k {
                    let u = Double(x[aOffset + (transposeA ? p * ac + i : i * ac + p)])
                    let v = Double(y[bOffset + (transposeB ? j * bc + p : p * bc + j)])
                    out[i * n + j] += u * v
                }
            }
        }
        return out
    }

    private func assertClose(_ got: ArraySlice<Float>, _ expected: [Double], k: Int, _ label: String) {
        XCTAssertEqual(got.count, expected.count, label)
        for (g, e) in zip(got, expected) where abs(Double(g) - e) > 2e-6 * Double(k + 1) {
            XCTFail("\(label): got \(g), expected \(e)")
            return
        }
    }

    func testBatchedAttentionShapes() throws {
        // Scores q·kᵀ: [B·heads, N, d] × [B·heads, M, d]ᵀ, then probabilities·v: [B·heads, N, M] × [B·heads, M, d].
        let q = randomTensor([4, 13, 8], seed: 1), k = randomTensor([4, 7, 8], seed: 2), v = randomTensor([4, 7, 8], seed: 3)
        let scores = try Tensor.matmul(q, k, transposeB: true, pool: pool)
        XCTAssertEqual(scores.shape, [4, 13, 7])
        let mixed = try Tensor.matmul(scores, v, pool: pool)
        XCTAssertEqual(mixed.shape, [4, 13, 8])
        for batch in 0..<4 {
            assertClose(scores.scalars[batch * 91 ..< (batch + 1) * 91],
                        reference(q, k, batch: batch, transposeA: false, transposeB: true), k: 8, "scores \(batch)")
            assertClose(mixed.scalars[batch * 104 ..< (batch + 1) * 104],
                        reference(scores, v, batch: batch, transposeA: false, transposeB: false), k: 7, "mixed \(batch)")
        }
    }

    func testAllTransposesWithBroadcast() throws {
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = randomTensor(transposeA ? [2, 3, 5, 6] : [2, 3, 6, 5], seed: 4)
                let shared = randomTensor(transposeB ? [9, 5] : [5, 9], seed: 5)
                let product = try Tensor.matmul(a, shared, transposeA: transposeA, transposeB: transposeB, pool: pool)
                XCTAssertEqual(product.shape, [2, 3, 6, 9])
                for batch in 0..<6 {
                    assertClose(product.scalars[batch * 54 ..< (batch + 1) * 54],
                                reference(a, shared, batch: batch, transposeA: transposeA, transposeB: transposeB),
                                k: 5, "shared B, tA \(transposeA) tB \(transposeB) batch \(batch)")
                }
                // The shared operand on the left instead.
                let sharedA = randomTensor(transposeA ? [5, 6] : [6, 5], seed: 6)
                let b = randomTensor(transposeB ? [3, 9, 5] : [3, 5, 9], seed: 7)
                let left = try Tensor.matmul(sharedA, b, transposeA: transposeA, transposeB: transposeB, alpha: 0.5, pool: pool)
                XCTAssertEqual(left.shape, [3, 6, 9])
                for batch in 0..<3 {
                    let expected = reference(sharedA, b, batch: batch, transposeA: transposeA, transposeB: transposeB).map { $0 * 0.5 }
                    assertClose(left.scalars[batch * 54 ..< (batch + 1) * 54], expected, k: 5, "shared A, batch \(batch)")
                }
            }
        }
    }

    func testManySmallProductsRunInParallel() throws {
        let a = randomTensor([16, 4, 3], seed: 8), b = randomTensor([16, 3, 5], seed: 9)
        let product = try Tensor.matmul(a, b, pool: pool)
        for batch in 0..<16 {
            assertClose(product.scalars[batch * 20 ..< (batch + 1) * 20],
                        reference(a, b, batch: batch, transposeA: false, transposeB: false), k: 3, "batch \(batch)")
        }
    }

    func testEmptyDimensions() throws {
        let product = try Tensor.matmul(Tensor(zeros: [2, 3, 0]), Tensor(zeros: [2, 0, 4]), pool: pool)
        XCTAssertEqual(product, Tensor(zeros: [2, 3, 4]))
        XCTAssertEqual(try Tensor.matmul(Tensor(zeros: [0, 3, 2]), Tensor(zeros: [2, 4]), pool: pool).shape, [0, 3, 4])
    }

    func testBadShapesThrow() {
        let cases: [(Tensor, Tensor, String)] = [
            (Tensor(zeros: [3]), Tensor(zeros: [3, 2]), "rank"),
            (Tensor(zeros: [2, 3]), Tensor(zeros: [4, 2]), "inner sizes"),
            (Tensor(zeros: [2, 2, 3]), Tensor(zeros: [3, 3, 2]), "batch"),
        ]
        for (a, b, reason) in cases {
            XCTAssertThrowsError(try Tensor.matmul(a, b)) { error in
                guard case TensorError.shapeMismatch(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains(reason), message)
            }
        }
    }

    func testLinearWithPackedWeightBiasAndResidual() throws {
        // y = x·Wᵀ + bias with W stored [out, in] like a PyTorch Linear.
        let x = randomTensor([2, 13, 33], seed: 10), weight = randomTensor([65, 33], seed: 11), bias = randomTensor([65], seed: 12)
        let packed = try PackedMatrix(weight, transposed: true, pool: pool)
        XCTAssertEqual(packed.k, 33)
        XCTAssertEqual(packed.n, 65)
        let y = try x.matmul(packed, bias: bias, pool: pool)
        XCTAssertEqual(y.shape, [2, 13, 65])
        let plain = reference(try x.reshaped([26, 33]), weight, batch: 0, transposeA: false, transposeB: true)
        let expected = plain.enumerated().map { $0.element + Double(bias.scalars[$0.offset % 65]) }
        assertClose(y.scalars[...], expected, k: 33, "linear")

        var residual = randomTensor([2, 13, 65], seed: 13)
        let before = residual.scalars
        try residual.addMatmul(x, packed, bias: bias, pool: pool)
        assertClose(residual.scalars[...], zip(expected, before).map { $0 + Double($1) }, k: 33, "residual")

        XCTAssertThrowsError(try randomTensor([2, 32], seed: 1).matmul(packed))
        XCTAssertThrowsError(try x.matmul(packed, bias: Tensor(zeros: [64])))
        XCTAssertThrowsError(try residual.addMatmul(x, try PackedMatrix(randomTensor([33, 64], seed: 2))))
        XCTAssertThrowsError(try PackedMatrix(Tensor(zeros: [2, 3, 4])))
    }
}
