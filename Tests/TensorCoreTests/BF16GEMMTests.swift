import XCTest
@testable import TensorCore
import CKernels

/// bfloat16 GEMM against a double-precision reference on bfloat16-rounded inputs, on every variant this CPU has
/// (AVX512-BF16 and the widening ones) and on 1 and 3 threads; and every variant against the portable one, bit
/// for bit.
final class BF16GEMMTests: GEMMTestCase {
    private static let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 3)]

    private func forEachVariant(_ body: (BF16GEMMKernel, ThreadPool) throws -> Void) rethrows {
        XCTAssertTrue(BF16GEMMKernel.available.contains(BF16GEMMKernel(.scalar)!))
        for kernel in BF16GEMMKernel.available {
            BF16GEMMKernel.setActive(kernel)
            XCTAssertEqual(BF16GEMMKernel.active, kernel)
            for pool in Self.pools { try body(kernel, pool) }
        }
    }

    private func run(_ problem: inout GEMMProblem, pool: ThreadPool) {
        problem.precision = .bf16
        let packed = problem.packB(pool: pool)
        XCTAssertEqual(packed.precision, .bf16)
        problem.run(packed: packed, pool: pool)
    }

    func testRoundingMatchesVcvtne2ps2bf16() {
        let cases: [(Float, UInt16)] = [
            (1, 0x3f80), (-2, 0xc000),
            (Float(bitPattern: 0x3f80_8000), 0x3f80),  // tie, even below
            (Float(bitPattern: 0x3f81_8000), 0x3f82),  // tie, even above
            (Float(bitPattern: 0x3f80_8001), 0x3f81),  // just past the tie
            (.greatestFiniteMagnitude, 0x7f80),        // rounds up to infinity
            (.infinity, 0x7f80), (-.infinity, 0xff80),
            (Float(bitPattern: 0x0000_0001), 0), (Float(bitPattern: 0x807f_ffff), 0x8000),  // subnormals flush
            (Float(bitPattern: 0x7f80_0001), 0x7fc0),  // signalling NaN quieted
        ]
        for (x, expected) in cases {
            XCTAssertEqual(ck_bf16_round(x), expected, "round(\(x.bitPattern))")
        }
    }

    /// Packing B from its transpose (the vector path where the CPU has AVX512-BF16, for panel widths that are a
    /// multiple of 16) gives the same bits as packing B itself (the portable loop), including ties, subnormals,
    /// NaNs and infinities, padded depths and partial panels.
    func testPackingTransposedBMatchesPackingB() {
        let (k, n) = (67, 45)
        var generator = SeededGenerator(seed: 21)
        var b = (0..<k * n).map { _ in Float.random(in: -3..<3, using: &generator) }
        let specials: [Float] = [.nan, .infinity, -.infinity, Float(bitPattern: 0x0000_0007), Float(bitPattern: 0x3f80_8000),
                                 Float(bitPattern: 0x3f81_8000), -0.0, .greatestFiniteMagnitude]
        for (index, value) in specials.enumerated() { b[index * 97 % b.count] = value }
        let transposed = (0..<n * k).map { b[($0 % k) * n + $0 / k] }  // [n × k]: row j is column j of B
        for nr: Int32 in [4, 16, 32] {
            let count = (n + Int(nr) - 1) / Int(nr) * Int(nr) * (k + 1) / 2 * 2
            var direct = [UInt16](repeating: 1, count: count), fromTranspose = [UInt16](repeating: 2, count: count)
            ck_bgemm_pack_b(b, Int64(n), 0, Int64(n), Int64(k), nr, &direct)
            ck_bgemm_pack_b(transposed, Int64(k), 1, Int64(n), Int64(k), nr, &fromTranspose)
            XCTAssertEqual(direct, fromTranspose, "nr \(nr)")
        }
    }

    func testOddShapesAllTransposes() {
        let shapes = [(1, 1, 1), (7, 13, 33), (65, 33, 13), (13, 65, 7), (33, 7, 65), (1, 65, 13), (65, 1, 33), (13, 33, 2)]
        forEachVariant { kernel, pool in
            for (m, n, k) in shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        var problem = GEMMProblem(m: m, n: n, k: k, transA: transA, transB: transB, seed: m * 31 + n * 7 + k)
                        run(&problem, pool: pool)
                        problem.check("\(kernel) threads \(pool.threadCount) \(m)x\(n)x\(k) tA \(transA) tB \(transB)")
                    }
                }
            }
        }
    }

    func testEpilogueSplitDepthAndPaddedStrides() {
        let deep = 2 * GEMMBlocking.maxKCBF16 + 5
        let cases: [(m: Int, n: Int, k: Int, alpha: Float, beta: Float)] =
            [(33, 65, 13, 1, 0), (7, 65, deep, 1, 1), (33, 17, deep, 0.5, 0), (25, 40, 67, -2, 0.25)]
        forEachVariant { kernel, pool in
            for (m, n, k, alpha, beta) in cases {
                var problem = GEMMProblem(m: m, n: n, k: k, transB: true, alpha: alpha, beta: beta, bias: true,
                                          padding: 3, seed: k)
                run(&problem, pool: pool)
                problem.check("\(kernel) threads \(pool.threadCount) \(m)x\(n)x\(k) alpha \(alpha) beta \(beta)")
            }
        }
    }

    func testEveryVariantGivesTheSameBits() {
        // Each pair of depths adds its odd product first, then the even one, as `vdpbf16ps` does, so every variant
        // gives the same sums. (Only the epilogue's order may differ — `acc + beta·C + bias` — so C is either
        // accumulated onto or biased, not both; a depth over one slice still accumulates its second slice onto C.)
        // 29, 16 and 40 rows take AVX512-BF16's 10-, 8- and 10-row forms on one thread (ck_bgemm_kernel_fitting).
        var results: [String: [Float]] = [:]
        forEachVariant { kernel, pool in
            for accumulate in [false, true] {
                for m in [29, 16, 40] {
                    var problem = GEMMProblem(m: m, n: 70, k: GEMMBlocking.maxKCBF16 + 37, beta: accumulate ? 1 : 0,
                                              bias: !accumulate, seed: 11)
                    run(&problem, pool: pool)
                    let key = "\(m) rows, accumulate \(accumulate)"
                    guard let first = results[key] else {
                        results[key] = problem.c
                        continue
                    }
                    let differing = zip(problem.c, first).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "\(kernel) threads \(pool.threadCount) \(key)")
                }
            }
        }
    }

    /// AVX512-BF16's register tile is 12 rows, with 10- and 8-row forms for operands they fit better (fewer
    /// padded rows; the taller on ties); the other variants have one form.
    func testFittingFormsPadTheFewestRows() throws {
        for kernel in BF16GEMMKernel.available where kernel != BF16GEMMKernel(.avx512bf16) {
            XCTAssertEqual(kernel.fitting(rows: 40), kernel)
        }
        guard let kernel = BF16GEMMKernel(.avx512bf16) else { throw XCTSkip("this CPU has no AVX512-BF16") }
        for (rows, mr, computed) in [(64, 8, 64), (40, 10, 40), (48, 12, 48), (24, 12, 24), (20, 10, 20), (16, 8, 16),
                                     (7, 8, 8), (65, 10, 70), (144, 12, 144), (130, 10, 130)] {
            XCTAssertEqual(kernel.fitting(rows: rows).mr, mr, "\(rows) rows")
            XCTAssertEqual(kernel.computedRows(rows), computed, "\(rows) rows")
        }
    }

    func testPackedMatrixKeepsItsKernelAndHalvesTheMemory() {
        var problem = GEMMProblem(m: 13, n: 64, k: 96, transB: true, seed: 4)
        let fp32 = problem.packB(pool: Self.pools[1])
        problem.precision = .bf16
        let kernels = BF16GEMMKernel.available
        BF16GEMMKernel.setActive(kernels[0])
        let packed = problem.packB(pool: Self.pools[1])
        XCTAssertLessThanOrEqual(packed.byteCount, fp32.byteCount / 2 + 64)
        BF16GEMMKernel.setActive(kernels[kernels.count - 1])
        problem.run(packed: packed, pool: Self.pools[1])
        problem.check("packed for \(kernels[0]), used while \(kernels[kernels.count - 1]) is active")
    }
}
