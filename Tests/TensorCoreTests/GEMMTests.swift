import XCTest
@testable import TensorCore

/// SGEMM against a double-precision reference, on every kernel variant this CPU has and on 1 and 3 threads.
final class GEMMTests: GEMMTestCase {
    private static let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 3)]

    /// Runs `body` once per available kernel variant and pool.
    private func forEachVariant(_ body: (GEMMKernel, ThreadPool) throws -> Void) rethrows {
        XCTAssertTrue(GEMMKernel.available.contains(GEMMKernel(.scalar)!))
        #if arch(x86_64)
        XCTAssertTrue(GEMMKernel.available.contains { "\($0)".hasPrefix("avx2") } || GEMMKernel(.avx2) == nil)
        #endif
        for kernel in GEMMKernel.available {
            GEMMKernel.setActive(kernel)
            XCTAssertEqual(GEMMKernel.active, kernel)
            for pool in Self.pools { try body(kernel, pool) }
        }
    }

    func testOddShapesAllTransposes() {
        let shapes = [(1, 1, 1), (7, 13, 33), (65, 33, 13), (13, 65, 7), (33, 7, 65), (1, 65, 13), (65, 1, 33), (13, 33, 1)]
        forEachVariant { kernel, pool in
            for (m, n, k) in shapes {
                for transA in [false, true] {
                    for transB in [false, true] {
                        var problem = GEMMProblem(m: m, n: n, k: k, transA: transA, transB: transB, seed: m * 31 + n * 7 + k)
                        problem.run(pool: pool)
                        problem.check("\(kernel) threads \(pool.threadCount) \(m)x\(n)x\(k) tA \(transA) tB \(transB)")
                    }
                }
            }
        }
    }

    func testAlphaBetaAndPaddedStrides() {
        let cases: [(alpha: Float, beta: Float)] = [(1, 0), (0.5, 0), (1, 1), (-2, 0.25), (0, 1.5)]
        forEachVariant { kernel, pool in
            for (alpha, beta) in cases {
                for transA in [false, true] {
                    var problem = GEMMProblem(m: 33, n: 65, k: 13, transA: transA, transB: !transA, alpha: alpha,
                                              beta: beta, padding: 3, seed: 5)
                    problem.run(pool: pool)
                    problem.check("\(kernel) threads \(pool.threadCount) alpha \(alpha) beta \(beta) tA \(transA)")
                }
            }
        }
    }

    func testRowStrideOfOneKiBPacksA() {
        // lda = 256 floats and more than 8 column panels: kernels that can read A in place pack it instead
        // (see GEMM.multiply).
        forEachVariant { kernel, pool in
            var problem = GEMMProblem(m: 37, n: 300, k: 13, beta: 0.5, bias: true, padding: 243, seed: 6)
            XCTAssertEqual(problem.lda, 256)
            problem.run(pool: pool)
            problem.check("\(kernel) threads \(pool.threadCount) lda 256")
        }
    }

    func testBetaZeroNeverReadsC() {
        forEachVariant { kernel, pool in
            var problem = GEMMProblem(m: 13, n: 33, k: 7, padding: 2, seed: 9)
            problem.fillC(with: .nan)
            problem.run(pool: pool)
            problem.check("\(kernel) threads \(pool.threadCount) C full of NaN")
            XCTAssertTrue(problem.paddingOfCIsUntouched, "\(kernel): wrote C outside the matrix")
        }
    }

    func testBiasEpilogueAndSplitDepth() {
        // k larger than two slices: the bias must be added once, beta applied once.
        let deep = 2 * GEMMBlocking.maxKC + 5
        forEachVariant { kernel, pool in
            for (m, n, k, beta) in [(13, 33, 7, Float(0)), (7, 65, deep, 1), (33, 17, deep, 0)] {
                var problem = GEMMProblem(m: m, n: n, k: k, transB: true, beta: beta, bias: true, padding: 1, seed: k)
                problem.run(pool: pool)
                problem.check("\(kernel) threads \(pool.threadCount) bias \(m)x\(n)x\(k) beta \(beta)")
            }
        }
    }

    func testPackedMatrixMatchesUnpacked() {
        forEachVariant { kernel, pool in
            for transB in [false, true] {
                var problem = GEMMProblem(m: 33, n: 65, k: 13, transB: transB, beta: 0.5, bias: true, padding: 2, seed: 3)
                problem.runPacked(pool: pool)
                problem.check("\(kernel) threads \(pool.threadCount) packed tB \(transB)")
            }
        }
    }

    func testPackedMatrixKeepsItsKernel() {
        let kernels = GEMMKernel.available
        guard kernels.count > 1 else { return }
        GEMMKernel.setActive(kernels[0])
        var problem = GEMMProblem(m: 13, n: 33, k: 7, transB: true, seed: 4)
        let packed = problem.packB(pool: Self.pools[1])
        GEMMKernel.setActive(kernels[kernels.count - 1])
        problem.run(packed: packed, pool: Self.pools[1])
        problem.check("packed for \(kernels[0]), used while \(kernels[kernels.count - 1]) is active")
    }

    func testEmptyAndZeroDepthProducts() {
        var problem = GEMMProblem(m: 5, n: 6, k: 0, beta: 0.5, bias: true, seed: 2)
        problem.run(pool: Self.pools[1])
        problem.check("k = 0 gives beta · C + bias")
        var empty = GEMMProblem(m: 0, n: 6, k: 4, seed: 2)
        empty.run(pool: Self.pools[1])
        empty.check("m = 0")
    }
}
