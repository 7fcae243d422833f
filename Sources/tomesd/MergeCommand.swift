import Foundation
import TensorCore
import ToMe
import ToMeCUDA

/// `tomesd merge`: plans a token merge of a `[B, N, C]` tensor (tomesd's `bipartite_soft_matching_random2d`,
/// with the tensor as its own metric) and writes `merged` `[B, N - r, C]` and `restored` `[B, N, C]`
/// (= unmerge(merge(x))) as float32 safetensors.
let mergeCommand = Subcommand(
    name: "merge",
    usage: "merge --input FILE [--key metric] --height H --width W [--sx 2] [--sy 2] (--ratio R | --r N) "
        + "[--no-random] [--seed 0] [--device cpu|cuda[:N]] --output FILE",
    flags: ["no-random"]
) { arguments in
    let input = try arguments.required("input")
    let key = arguments.string("key") ?? "metric"
    let output = try arguments.required("output")
    let height = try arguments.int("height") ?? { throw UsageError("missing required option --height") }()
    let width = try arguments.int("width") ?? { throw UsageError("missing required option --width") }()
    let sx = try arguments.int("sx") ?? 2
    let sy = try arguments.int("sy") ?? 2
    let ratio = try arguments.double("ratio")
    let fixedR = try arguments.int("r")
    let random = !arguments.flag("no-random")
    let givenSeed = try arguments.seed()
    let backend = try arguments.backend()
    try arguments.finish()

    if !random && givenSeed != nil { throw UsageError("--seed has no effect with --no-random") }
    let seed = givenSeed ?? 0
    guard height >= 1, width >= 1 else { throw UsageError("--height and --width must be at least 1, got \(height)×\(width)") }
    let partition: Partition
    do {
        var generator = SplitMix64(seed: seed)
        partition = random ? try Partition(height: height, width: width, sx: sx, sy: sy, using: &generator)
                           : try Partition(height: height, width: width, sx: sx, sy: sy)
    } catch let error as ToMeError {
        throw UsageError("\(error)")
    }
    let r: Int
    switch (ratio, fixedR) {
    case let (ratio?, nil):
        do {
            r = try MergeGrid.r(tokenCount: height * width, ratio: ratio)
        } catch {
            throw UsageError("option --ratio: \(error)")
        }
    case let (nil, fixed?):
        guard fixed >= 0 else { throw UsageError("option --r must not be negative, got \(fixed)") }
        r = fixed
    case (nil, nil): throw UsageError("give either --ratio or --r")
    case (_?, _?): throw UsageError("give either --ratio or --r, not both")
    }

    let outputFile = try prepareOutput(output, option: "--output", inputs: [input])
    let x = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: input)).tensor(key)
    let (merged, restored, clampedR) = try mergeAndRestore(x, partition: partition, r: r, backend: backend)
    try SafeTensors.write(["merged": merged, "restored": restored], into: outputFile,
                          metadata: ["r": String(clampedR), "input_key": key])
    try outputFile.commit()
}

/// Plans a merge of `x` (its own metric) on `backend` and returns `merged`, `restored` = unmerge(merged) and `r`
/// after clamping. On CUDA the tensor is uploaded once and the plan, merge and unmerge run on the device.
func mergeAndRestore(_ x: Tensor, partition: Partition, r: Int,
                     backend: Backend) throws -> (merged: Tensor, restored: Tensor, r: Int) {
    switch backend {
    case .cpu:
        let plan = try BipartiteMatching.plan(metric: x, partition: partition, r: r)
        let merged = try plan.merge(x)
        return (merged, try plan.unmerge(merged), plan.r)
    case .cuda(let index):
        let device = try CUDADevice(index)
        let input = try CUDATensor(x, device: device)
        let plan = try CUDAMergePlan(metric: input, partition: partition, r: r)
        let merged = try plan.merge(input)
        return (try merged.download(), try plan.unmerge(merged).download(), plan.r)
    }
}
