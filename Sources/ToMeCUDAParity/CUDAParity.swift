import Foundation
import TensorCore
import ToMe
import ToMeCUDA

/// The CPU/CUDA agreement check behind the GPU tests and `tomesd check-cuda`: one planning problem solved on both
/// backends and compared.
public struct CUDAParityReport: Sendable, CustomStringConvertible {
    /// What was compared.
    public let name: String
    /// Every source's best destination and the bits of its score agree.
    public let sameBestDestinations: Bool
    /// The plans agree: the CPU plan equals the plan built from the device's matches, and the device's own
    /// ranking and grouping give the CPU plan's output row for every token.
    public let samePlan: Bool
    /// Largest |device − CPU| over the merged tensor, and over the unmerged (restored) tensor.
    public let mergedDifference: Float, restoredDifference: Float
    /// The first disagreement, for diagnosis ("" when none).
    public let detail: String

    /// The outputs may differ by this much relative to the largest input magnitude (they are expected to be equal:
    /// both backends sum each group in the same order).
    public static let tolerance: Float = 1e-5

    /// Identical plans and outputs within ``tolerance``.
    public var passed: Bool {
        sameBestDestinations && samePlan && mergedDifference <= CUDAParityReport.tolerance
            && restoredDifference <= CUDAParityReport.tolerance
    }

    /// One line: the verdict, the differences, and the first disagreement if any.
    public var description: String {
        "\(passed ? "PASS" : "FAIL") \(name): best destinations \(sameBestDestinations ? "identical" : "DIFFER"), "
            + "plan \(samePlan ? "identical" : "DIFFERS"), merged max diff \(mergedDifference), "
            + "restored max diff \(restoredDifference)\(detail.isEmpty ? "" : " — \(detail)")"
    }
}

/// Compares the CPU and CUDA backends on one problem, or on a built-in set of hard synthetic problems.
public enum CUDAParity {
    /// Plans `metric` (`[B, N, C]`) over `partition` with `r` on the CPU and on `device`, then merges and unmerges
    /// `x` (`[B, N, C']`) with both plans. Differences are relative to the largest |x|.
    public static func compare(name: String, metric: Tensor, x: Tensor, partition: Partition, r: Int,
                               device: CUDADevice) throws -> CUDAParityReport {
        let cpuPlan = try BipartiteMatching.plan(metric: metric, partition: partition, r: r)
        let gpuPlan = try CUDAMergePlan(metric: CUDATensor(metric, device: device), partition: partition, r: r)

        var detail = "", sameBest = true
        if gpuPlan.r > 0 {  // the identity plan matches nothing
            let cpuBest = try BipartiteMatching.bestDestinations(metric: metric, partition: partition)
            let gpuBest = try gpuPlan.bestDestinations()
            sameBest = cpuBest.destination == gpuBest.destination
                && cpuBest.score.map(\.bitPattern) == gpuBest.score.map(\.bitPattern)
            let mismatches = (0..<cpuBest.destination.count).filter {
                cpuBest.destination[$0] != gpuBest.destination[$0]
                    || cpuBest.score[$0].bitPattern != gpuBest.score[$0].bitPattern
            }
            if let i = mismatches.first {
                detail += "\(mismatches.count) source entries differ, first \(i): CPU destination "
                    + "\(cpuBest.destination[i]) score \(cpuBest.score[i]), GPU destination \(gpuBest.destination[i]) "
                    + "score \(gpuBest.score[i]); "
            }
        }
        let gpuRows = try gpuPlan.outputRows()
        let samePlan = try gpuPlan.hostPlan() == cpuPlan && gpuRows == cpuPlan.outputRow
        let rowMismatches = (0..<gpuRows.count).filter { gpuRows[$0] != cpuPlan.outputRow[$0] }
        if let t = rowMismatches.first {
            detail += "\(rowMismatches.count) token entries differ, first \(t): CPU row \(cpuPlan.outputRow[t]), "
                + "GPU row \(gpuRows[t]); "
        }

        let gpuX = try CUDATensor(x, device: device)
        let gpuMerged = try gpuPlan.merge(gpuX)
        let gpuRestored = try gpuPlan.unmerge(gpuMerged)
        let cpuMerged = try cpuPlan.merge(x)
        let scale = max(1, x.scalars.reduce(Float(0)) { max($0, abs($1)) })
        return CUDAParityReport(
            name: name, sameBestDestinations: sameBest, samePlan: samePlan,
            mergedDifference: difference(try gpuMerged.download(), cpuMerged) / scale,
            restoredDifference: difference(try gpuRestored.download(), try cpuPlan.unmerge(cpuMerged)) / scale,
            detail: detail)
    }

    /// ``compare(name:metric:x:partition:r:device:)``, with a thrown error turned into a failed report.
    static func compareReportingErrors(name: String, _ body: () throws -> CUDAParityReport) -> CUDAParityReport {
        do {
            return try body()
        } catch {
            return CUDAParityReport(name: name, sameBestDestinations: false, samePlan: false, mergedDifference: .nan,
                                    restoredDifference: .nan, detail: "error: \(error)")
        }
    }

    /// Hard synthetic problems (random, spatially smooth, exact duplicates, zero rows, odd channel counts, a single
    /// destination; with `includeLarge` the benchmark size too), each compared with
    /// ``compare(name:metric:x:partition:r:device:)``.
    public static func syntheticReports(device: CUDADevice, includeLarge: Bool) -> [CUDAParityReport] {
        CUDAParityCase.all(includeLarge: includeLarge).map { problem in
            compareReportingErrors(name: problem.name) {
                let metric = problem.metric()
                var generator = SplitMix64(seed: problem.seed)
                let partition = try Partition(height: problem.height, width: problem.width, sx: problem.sx,
                                              sy: problem.sy, using: &generator)
                let r = try MergeGrid.r(tokenCount: partition.tokenCount, ratio: problem.ratio)
                return try compare(name: problem.name, metric: metric, x: metric, partition: partition, r: r,
                                   device: device)
            }
        }
    }

    /// Parity over tomesd fixture files (`Scripts/reference/make_tome_fixtures.py`): each file's metric `x`, grid
    /// (`h`, `w`, `sx`, `sy` and `r` in the metadata) and `cell_choices`, planned on both backends.
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` for a folder without fixtures or a file missing a field.
    public static func fixtureReports(directory: URL, device: CUDADevice) throws -> [CUDAParityReport] {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "safetensors" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        guard !files.isEmpty else { throw ToMeError.invalidArgument(argument: "directory", reason: "\(directory.path) holds no .safetensors fixtures") }
        return files.map { url in compareReportingErrors(name: "fixture " + url.lastPathComponent) {
            let file = try SafeTensorsFile(contentsOf: url)
            func number(_ key: String) throws -> Int {
                guard let text = file.metadata[key], let value = Int(text) else {
                    throw ToMeError.invalidArgument(argument: url.lastPathComponent,
                                                    reason: "metadata '\(key)' is missing or not an integer")
                }
                return value
            }
            let partition = try Partition(height: number("h"), width: number("w"), sx: number("sx"),
                                          sy: number("sy"), cellChoices: file.integers("cell_choices"))
            let x = try file.tensor("x")
            return try compare(name: "fixture " + url.deletingPathExtension().lastPathComponent, metric: x, x: x,
                               partition: partition, r: number("r"), device: device)
        } }
    }

    private static func difference(_ a: Tensor, _ b: Tensor) -> Float {
        guard a.shape == b.shape else { return .infinity }
        return zip(a.scalars, b.scalars).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    }
}
