import Foundation
import TensorCore
import ToMe
import ToMeCUDA

/// `tomesd bench merge`: times match + merge + unmerge (tomesd's `bipartite_soft_matching_random2d`, then `m`, then
/// `u`) on `[B, g·g, C]` inputs for each grid `g`, and reports the median times and the peak extra memory, as a
/// table or as JSON (what `Benchmarks/python/merge_vs_tomesd.py` reads).
let benchMergeCommand = Subcommand(
    name: "bench merge",
    summary: "time token matching, merging and unmerging on square token grids",
    details: "Times match + merge + unmerge (tomesd's bipartite_soft_matching_random2d, then m, then u) on "
        + "[B, g·g, C] inputs for each grid g, and reports the median times and the peak extra memory, as a table "
        + "or as JSON (what Benchmarks/python/merge_vs_tomesd.py reads).",
    options: [
        .value("grids", "G,...", default: "64,96,128", "grid sizes g (g × g tokens), each in 1...4096"),
        .value("batch", "B", default: "2", "batch size"),
        .value("channels", "C", default: "320", "channels per token"),
        .value("ratio", "R", default: "0.5", "fraction of the tokens to merge, in [0, 1)"),
        .value("repeat", "N", default: "5", "timed runs per grid"),
        .value("kernel", "scalar|avx2|avx512|avx512bf16|neon", "force one matching kernel (default: the best here)"),
        deviceOption,
        .flag("json", "print JSON instead of a table"),
    ]
) { arguments in
    let grids = try arguments.requiredInts("grids")
    let batch = try arguments.requiredInt("batch", in: 1...256)
    let channels = try arguments.requiredInt("channels", in: 1...65_536)
    let ratio = try arguments.requiredDouble("ratio")
    let repeats = try arguments.requiredInt("repeat", in: 1...10_000)
    let kernelName = arguments.string("kernel")
    let json = arguments.flag("json")
    let backend = try arguments.backend()
    try arguments.finish()

    guard grids.allSatisfy({ $0 >= 1 && $0 <= 4096 }) else { throw UsageError("option --grids expects sizes in 1...4096") }
    // The input, merged and restored tensors and the matching's scores: about 4 copies of the largest input.
    let largest = CheckedSize.product([4 * MemoryLayout<Float>.stride, batch, grids.max() ?? 1, grids.max() ?? 1, channels])
    guard let largest, largest <= CheckedSize.physicalMemoryBytes else {
        throw UsageError("options --grids, --batch and --channels: the largest input needs about "
            + (largest.map { CheckedSize.describe(bytes: $0) } ?? "more bytes than can be counted")
            + ", more than this machine's \(CheckedSize.describe(bytes: CheckedSize.physicalMemoryBytes)) of memory")
    }
    guard ratio >= 0, ratio < 1 else { throw UsageError("option --ratio must be in [0, 1), got \(ratio)") }
    if case .cuda(let device) = backend {
        guard kernelName == nil else { throw UsageError("option --kernel selects a CPU kernel; not with --device cuda") }
        return try benchmarkCUDAMerge(device: device, grids: grids, batch: batch, channels: channels, ratio: ratio,
                                      repeats: repeats, json: json)
    }
    var kernel = MatchKernel.best
    if let kernelName {
        guard let chosen = MatchKernel.available.first(where: { $0.isa == kernelName }) else {
            throw UsageError("option --kernel: '\(kernelName)' is not available here (have "
                + MatchKernel.available.map(\.isa).joined(separator: ", ") + ")")
        }
        kernel = chosen
    }

    let threads = ThreadPool.shared.threadCount
    if !json { print("kernel \(kernel), \(threads) thread(s), B=\(batch), C=\(channels), ratio \(ratio), median of \(repeats)") }
    var results: [[String: Any]] = []
    for grid in grids {
        let result = try benchmarkMerge(grid: grid, batch: batch, channels: channels, ratio: ratio, repeats: repeats,
                                        kernel: kernel)
        if json {
            results.append(result.json)
        } else {
            let peak = result.peakExtraMB.map { String(format: "%.1f MB", $0) } ?? "n/a"
            print(String(format: "%4dx%-4d total %9.2f ms (match %8.2f, merge %7.2f, unmerge %7.2f)  peak extra ",
                         grid, grid, result.total.median, result.match.median, result.merge.median,
                         result.unmerge.median) + peak)
        }
    }
    if json {
        let document: [String: Any] = ["kernel": "\(kernel)", "threads": threads, "batch": batch, "channels": channels,
                                       "ratio": ratio, "results": results]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

/// The timings of one grid: each stage and their per-run sum.
private struct MergeBenchResult {
    let grid: Int
    let match, merge, unmerge, total: BenchTiming
    let peakExtraMB: Double?

    var json: [String: Any] {
        var entry: [String: Any] = ["grid": grid, "median_ms": total.median, "min_ms": total.minimum,
                                    "match_ms": match.median, "merge_ms": merge.median, "unmerge_ms": unmerge.median,
                                    "runs_ms": total.milliseconds]
        if let peakExtraMB { entry["peak_extra_mb"] = peakExtraMB }
        return entry
    }
}

private func benchmarkMerge(grid: Int, batch: Int, channels: Int, ratio: Double, repeats: Int,
                            kernel: MatchKernel) throws -> MergeBenchResult {
    let tokens = grid * grid
    var random = SplitMix64(seed: UInt64(grid))
    let x = try Tensor(shape: [batch, tokens, channels], scalars: (0..<(batch * tokens * channels)).map { _ in gaussian(&random) })
    let r = try MergeGrid.r(tokenCount: tokens, ratio: ratio)
    var stages = [[Double]](repeating: [], count: 3)
    var failure: Error?
    let run = {
        do {
            var start = ProcessMetrics.now()
            func lap(_ stage: Int) {
                stages[stage].append(ProcessMetrics.seconds(since: start) * 1e3)
                start = ProcessMetrics.now()
            }
            let partition = try Partition(height: grid, width: grid, sx: 2, sy: 2, using: &random)
            let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: r, kernel: kernel)
            lap(0)
            let merged = try plan.merge(x)
            lap(1)
            _ = try plan.unmerge(merged)
            lap(2)
        } catch {
            failure = error
        }
    }
    // The first run, in a process that has not run one before, shows the peak memory a run needs.
    let peak = peakExtraMegabytes(run)
    let total = BenchTiming(warmup: 1, repeats: repeats, run)
    if let failure { throw failure }
    let timings = stages.map { BenchTiming(milliseconds: Array($0.suffix(repeats))) }
    return MergeBenchResult(grid: grid, match: timings[0], merge: timings[1], unmerge: timings[2], total: total,
                            peakExtraMB: peak)
}

/// A standard normal sample (Box-Muller), like `torch.randn`.
private func gaussian(_ random: inout SplitMix64) -> Float {
    let u1 = (Double(random.next() >> 11) + 0.5) / 9_007_199_254_740_992, u2 = Double(random.next() >> 11) / 9_007_199_254_740_992
    return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
}

extension BenchTiming {
    /// Timings measured elsewhere (one stage of a run timed as a whole).
    init(milliseconds: [Double]) {
        self.milliseconds = milliseconds
    }
}

/// Peak resident memory of `body` above the memory resident before it, in MB (1024 kB); nil where the peak cannot
/// be restarted (see ``ProcessMetrics``).
private func peakExtraMegabytes(_ body: () -> Void) -> Double? {
    guard ProcessMetrics.resetPeak(), let before = ProcessMetrics.residentBytes() else {
        body()
        return nil
    }
    body()
    guard let peak = ProcessMetrics.resettablePeakBytes() else { return nil }
    return Double(peak - before) / 1024 / 1024
}
