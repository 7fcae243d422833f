import XCTest
@testable import TensorCore
import CKernels

/// ``GEGLUProjection``: the fused bfloat16 form (the GEMM gating each panel it computes) gives the same bits as a
/// plain product followed by a GEGLU pass, on every bfloat16 kernel variant and thread count, and both agree with a
/// double-precision GEGLU of the bfloat16-rounded operands. Shapes that cannot be fused take the plain form.
final class GEGLUProjectionTests: GEMMTestCase {
    private static let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 3)]

    private struct Case {
        let rows: Int, inFeatures: Int, inner: Int
        var bias = true
    }

    private func random(_ count: Int, _ generator: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in Float.random(in: -2..<2, using: &generator) }
    }

    /// `GEGLU` in double precision from the values the kernels multiply (x and W rounded to bfloat16 when `rounded`).
    private func reference(x: [Float], weight: [Float], bias: [Float]?, c: Case, rounded: Bool) -> [Double] {
        let round: (Float) -> Double = { rounded ? Double(Float(bitPattern: UInt32(ck_bf16_round($0)) << 16)) : Double($0) }
        let (xs, ws) = (x.map(round), weight.map(round))
        var y = [Double](repeating: 0, count: c.rows * c.inner)
        for r in 0..<c.rows {
            for j in 0..<c.inner {
                var (value, gate) = (Double(bias?[j] ?? 0), Double(bias?[c.inner + j] ?? 0))
                for p in 0..<c.inFeatures {
                    value += xs[r * c.inFeatures + p] * ws[j * c.inFeatures + p]
                    gate += xs[r * c.inFeatures + p] * ws[(c.inner + j) * c.inFeatures + p]
                }
                y[r * c.inner + j] = value * 0.5 * gate * (1 + erf(gate / 2.0.squareRoot()))
            }
        }
        return y
    }

    private func check(_ c: Case, precision: Precision, pool: ThreadPool, expectFused: Bool, label: String) throws {
        var generator = SeededGenerator(seed: UInt64(c.rows * 131 + c.inFeatures * 7 + c.inner))
        let x = random(c.rows * c.inFeatures, &generator)
        let weight = random(2 * c.inner * c.inFeatures, &generator)
        let bias = c.bias ? random(2 * c.inner, &generator) : nil
        let input = try Tensor(shape: [c.rows, c.inFeatures], scalars: x)
        let biasTensor = try bias.map { try Tensor(shape: [2 * c.inner], scalars: $0) }
        let projection = GEGLUProjection(weight: weight, inFeatures: c.inFeatures, inner: c.inner,
                                         precision: precision, pool: pool)
        XCTAssertEqual(projection.fused, expectFused, label)
        let y = try projection.apply(input, bias: biasTensor, pool: pool)
        XCTAssertEqual(y.shape, [c.rows, c.inner], label)

        // The plain form: the whole hidden layer (bias added by the GEMM), then the GEGLU pass.
        let packed = try PackedMatrix(try Tensor(shape: [2 * c.inner, c.inFeatures], scalars: weight), transposed: true,
                                      precision: precision, pool: pool)
        let hidden = try input.matmul(packed, bias: biasTensor, pool: pool).scalars
        var plain = [Float](repeating: 0, count: c.rows * c.inner)
        ck_nn_geglu(hidden, 2 * c.inner, c.rows, c.inner, nil, nil, &plain, c.inner)
        let differing = zip(y.scalars, plain).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(label): fused and plain forms differ")

        let exact = reference(x: x, weight: weight, bias: bias, c: c, rounded: precision == .bf16)
        for (index, (got, want)) in zip(y.scalars, exact).enumerated() {
            let tolerance = 1e-5 * (1 + abs(want)) * Double(c.inFeatures).squareRoot()
            if abs(Double(got) - want) > tolerance {
                XCTFail("\(label): y[\(index)] = \(got), exact \(want)")
                break
            }
        }
    }

    func testFusedFormMatchesPlainFormOnEveryVariant() throws {
        let deep = GEMMBlocking.maxKCBF16 + 3  // two k slices: not fused
        for kernel in BF16GEMMKernel.available {
            BF16GEMMKernel.setActive(kernel)
            let halfPanel = kernel.nr / 2
            let cases = [Case(rows: 1, inFeatures: 8, inner: halfPanel),
                         Case(rows: 29, inFeatures: 33, inner: 3 * halfPanel),
                         Case(rows: 40, inFeatures: 40, inner: 2 * halfPanel, bias: false),
                         Case(rows: 13, inFeatures: 7, inner: halfPanel + 1),
                         Case(rows: 5, inFeatures: deep, inner: halfPanel)]
            for pool in Self.pools {
                for c in cases {
                    let fusable = c.inner % halfPanel == 0 && c.inFeatures <= GEMMBlocking.maxKCBF16
                    try check(c, precision: .bf16, pool: pool, expectFused: fusable,
                              label: "\(kernel) threads \(pool.threadCount) \(c)")
                }
            }
        }
    }

    func testFP32IsNeverFused() throws {
        for pool in Self.pools {
            try check(Case(rows: 17, inFeatures: 24, inner: 32), precision: .fp32, pool: pool, expectFused: false,
                      label: "fp32 threads \(pool.threadCount)")
        }
    }

    func testRejectsMisshapedInputAndBias() throws {
        let projection = GEGLUProjection(weight: [Float](repeating: 0.5, count: 2 * 16 * 4), inFeatures: 4, inner: 16,
                                         precision: .bf16)
        let wide = try Tensor(shape: [3, 5], scalars: [Float](repeating: 1, count: 15))
        XCTAssertThrowsError(try projection.apply(wide, bias: nil))
        let input = try Tensor(shape: [3, 4], scalars: [Float](repeating: 1, count: 12))
        let shortBias = try Tensor(shape: [16], scalars: [Float](repeating: 0, count: 16))
        XCTAssertThrowsError(try projection.apply(input, bias: shortBias))
    }
}
