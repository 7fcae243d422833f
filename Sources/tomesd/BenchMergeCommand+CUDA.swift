import Foundation
import TensorCore
import ToMe
import ToMeCUDA

/// Wall-clock timing of match + merge + unmerge on a CUDA device, the way `tomesd bench merge --device cuda` and
/// `tomesd check-cuda --bench` report it: tensors already on the device, the random partition drawn on the host
/// each time (as tomesd's generator does), the device synchronised at the end of every run.
struct CUDAMergeTiming {
    let batch, height, width, channels: Int
    let ratio: Double
    let repeats: Int

    /// Milliseconds of each timed run (after two warm-up runs), in run order.
    func run(device: CUDADevice) throws -> [Double] {
        var generator = SplitMix64(seed: 42)
        let tokens = height * width
        let values = (0..<(batch * tokens * channels)).map { _ in Float(generator.next() >> 40) / Float(1 << 23) - 1 }
        let x = try CUDATensor(Tensor(shape: [batch, tokens, channels], scalars: values), device: device)
        let r = try MergeGrid.r(tokenCount: tokens, ratio: ratio)
        var times: [Double] = []
        for run in 0..<(repeats + 2) {
            let start = ProcessMetrics.now()
            let partition = try Partition(height: height, width: width, sx: 2, sy: 2, using: &generator)
            let plan = try CUDAMergePlan(metric: x, partition: partition, r: r)
            _ = try plan.unmerge(plan.merge(x))
            try device.synchronize()
            if run >= 2 { times.append(ProcessMetrics.seconds(since: start) * 1e3) }
        }
        return times
    }

    /// The median of `times`.
    static func median(_ times: [Double]) -> Double {
        let sorted = times.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
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
