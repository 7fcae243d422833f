import Foundation
import TensorCore
import ToMe
import XCTest

/// match + merge + unmerge at the sizes of the speed bar (B = 2, C = 320, ratio 0.5), and a check at that
/// scale that the bf16 candidate pass and the fp32 pass give the same plan. Run in release:
/// `TOMESD_BENCHMARKS=1 swift test -c release --filter MergeBenchmarks`. The side-by-side comparison with tomesd
/// is `Benchmarks/python/merge_vs_tomesd.py`.
final class MergeBenchmarks: XCTestCase {
    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["TOMESD_BENCHMARKS"] == "1" else {
            throw XCTSkip("benchmarks run only with TOMESD_BENCHMARKS=1")
        }
    }

    private func input(grid: Int, seed: UInt64) throws -> Tensor {
        var random = SplitMix64(seed: seed)
        let count = 2 * grid * grid * 320
        return try Tensor(shape: [2, grid * grid, 320], scalars: (0..<count).map { _ in
            Float(random.next() >> 40) / Float(1 << 24) - 0.5
        })
    }

    func testMatchMergeUnmerge() throws {
        for grid in [64, 96, 128] {
            let x = try input(grid: grid, seed: UInt64(grid))
            let partition = try Partition(height: grid, width: grid, sx: 2, sy: 2)
            let r = try MergeGrid.r(tokenCount: grid * grid, ratio: 0.5)
            var runs = [Double]()
            for _ in 0..<5 {
                let start = ProcessMetrics.now()
                let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: r)
                _ = try plan.unmerge(try plan.merge(x))
                runs.append(ProcessMetrics.seconds(since: start) * 1e3)
            }
            report(String(format: "merge benchmark %dx%d [%@]: median %.3f ms (runs: %@ ms)", grid, grid, "\(MatchKernel.best)",
                          runs.sorted()[2], milliseconds(runs)))
        }
    }

    func testVariantsAgreeAtScale() throws {
        let x = try input(grid: 64, seed: 1)
        let partition = try Partition(height: 64, width: 64, sx: 2, sy: 2)
        let results = try MatchKernel.available.filter { $0.isa != "scalar" }.map {
            ($0, try BipartiteMatching.bestDestinations(metric: x, partition: partition, kernel: $0))
        }
        for (kernel, best) in results.dropFirst() {
            XCTAssertEqual(best, results[0].1, "\(kernel) vs \(results[0].0)")
        }
    }
}
