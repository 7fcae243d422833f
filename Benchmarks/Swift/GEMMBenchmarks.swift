import Foundation
import TensorCore
import XCTest

/// SGEMM throughput on the Stable Diffusion shapes of the bar, at 1 and 2 threads.
/// Runs only with `TOMESD_BENCHMARKS=1 swift test -c release --filter GEMMBenchmarks`; prints median ms and GFLOP/s.
/// (The side-by-side comparison with torch is `Benchmarks/python/gemm_vs_torch.py`.)
final class GEMMBenchmarks: XCTestCase {
    private static let shapes = [(4096, 320, 320), (4096, 4096, 40), (4096, 1280, 320), (1024, 1024, 1024)]

    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["TOMESD_BENCHMARKS"] == "1" else {
            throw XCTSkip("benchmarks run only with TOMESD_BENCHMARKS=1")
        }
    }

    func testSGEMMThroughput() {
        for threads in [1, 2] {
            let pool = ThreadPool(threadCount: threads)
            for (m, n, k) in Self.shapes {
                let median = Self.medianMilliseconds(m: m, n: n, k: k, pool: pool, repeats: 15)
                let gflops = 2 * Double(m * n * k) / (median * 1e6)
                report(String(format: "sgemm %5dx%5dx%5d  %d thread(s): %8.3f ms %7.1f GFLOP/s", m, n, k, threads, median, gflops))
                XCTAssertGreaterThan(gflops, 0)
            }
        }
    }

    func testPackedWeightThroughput() throws {
        // A linear layer of the UNet's first stage: 4096 tokens, 320 → 1280 (the feed-forward's first projection),
        // with its weight packed in each precision.
        let (tokens, inputs, outputs) = (4096, 320, 1280)
        let x = try Tensor(shape: [tokens, inputs], scalars: (0..<tokens * inputs).map { Float($0 % 17) / 17 - 0.5 })
        let weight = try Tensor(shape: [outputs, inputs], scalars: (0..<outputs * inputs).map { Float($0 % 13) / 13 - 0.5 })
        let bias = Tensor(zeros: [outputs])
        for precision in Precision.allCases {
            let packed = try PackedMatrix(weight, transposed: true, precision: precision)
            var times: [Double] = []
            for run in 0..<17 {
                let start = ProcessMetrics.now()
                _ = try x.matmul(packed, bias: bias)
                if run >= 2 { times.append(ProcessMetrics.seconds(since: start) * 1e3) }
            }
            let median = times.sorted()[times.count / 2]
            report("linear 4096x320 -> 1280 with bias, packed weight (\(precision.rawValue)): "
                  + String(format: "%8.3f ms %7.1f GFLOP/s", median, 2 * Double(tokens * inputs * outputs) / (median * 1e6)))
        }
    }

    private static func medianMilliseconds(m: Int, n: Int, k: Int, pool: ThreadPool, repeats: Int) -> Double {
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        var times: [Double] = []
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    for run in 0..<repeats + 2 {
                        let start = ProcessMetrics.now()
                        GEMM.sgemm(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                   c: c.baseAddress!, ldc: n, pool: pool)
                        if run >= 2 { times.append(ProcessMetrics.seconds(since: start) * 1e3) }
                    }
                }
            }
        }
        return times.sorted()[times.count / 2]
    }
}
