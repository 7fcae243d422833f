import ToMeCUDA
import Foundation
import TensorCore
import ToMe

extension Arguments {
    /// `--device cpu|cuda|cuda:N` (default `cpu`; `cuda` is `cuda:0`).
    mutating func backend() throws -> Backend {
        guard let text = string("device") else { return .cpu }
        if text == "cpu" { return .cpu }
        if text == "cuda" { return .cuda(device: 0) }
        if text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 { return .cuda(device: index) }
        throw UsageError("option --device expects cpu, cuda or cuda:N, got '\(text)'")
    }
}

/// Plans a merge of `x` (its own metric) on `backend` and returns `merged`, `restored` = unmerge(merged) and the
/// number of merged tokens. On CUDA the tensor is uploaded once and the plan, merge and unmerge run on the device.
func mergeAndRestore(_ x: Tensor, partition: Partition, r: Int,
                     backend: Backend) throws -> (merged: Tensor, restored: Tensor, mergedCount: Int) {
    switch backend {
    case .cpu:
        let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: r)
        let merged = try plan.merge(x)
        return (merged, try plan.unmerge(merged), plan.mergedCount)
    case .cuda(let index):
        let device = try CUDADevice(index)
        let input = try CUDATensor(x, device: device)
        let plan = try CUDAMergePlan(metric: input, partition: partition, r: r)
        let merged = try plan.merge(input)
        return (try merged.download(), try plan.unmerge(merged).download(), plan.r)
    }
}

/// `tomesd bench merge --device cuda[:N]`: the CUDA timings (tensors on the device; see ``CUDAMergeTiming``),
/// printed like the CPU's table or JSON.
func benchmarkCUDAMerge(device index: Int, grids: [Int], batch: Int, channels: Int, ratio: Double, repeats: Int,
                        json: Bool) throws {
    let device = try CUDADevice(index)
    let name = try device.info().name
    try device.prepare()
    if !json { print("\(device) (\(name)), B=\(batch), C=\(channels), ratio \(ratio), median of \(repeats)") }
    var results: [[String: Any]] = []
    for grid in grids {
        let times = try CUDAMergeTiming(batch: batch, height: grid, width: grid, channels: channels, ratio: ratio,
                                        repeats: repeats).run(device: device)
        let median = CUDAMergeTiming.median(times), minimum = times.min() ?? .nan
        if json {
            results.append(["grid": grid, "median_ms": median, "min_ms": minimum, "runs_ms": times])
        } else {
            print(String(format: "%4dx%-4d total %9.3f ms (min %.3f)", grid, grid, median, minimum))
        }
    }
    if json {
        let document: [String: Any] = ["device": "\(device)", "device_name": name, "batch": batch,
                                       "channels": channels, "ratio": ratio, "results": results]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}
