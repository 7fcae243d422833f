import Foundation
import TensorCore
import ToMe
import ToMeCUDA

/// `tomesd merge`: plans a token merge of a `[B, N, C]` tensor (tomesd's `bipartite_soft_matching_random2d`,
/// with the tensor as its own metric) and writes `merged` `[B, N - r, C]` and `restored` `[B, N, C]`
/// (= unmerge(merge(x))) as float32 safetensors.
let mergeCommand = Subcommand(
    name: "merge",
    summary: "merge the tokens of a [B, N, C] tensor (tomesd's bipartite soft matching) and restore them",
    details: "Plans a token merge of the [B, N, C] tensor --key of --input (a safetensors file), with the tensor as its "
        + "own similarity metric (tomesd's bipartite_soft_matching_random2d), and writes the tensors \"merged\" "
        + "[B, N - r, C] and \"restored\" [B, N, C] = unmerge(merge(x)) to --output as float32 safetensors. "
        + "Give the token count as --height × --width and the merge size as --ratio or --r.",
    options: [
        .value("input", "FILE", required: true, "safetensors file holding the tensor to merge"),
        .value("key", "NAME", default: "metric", "name of the [B, N, C] tensor in --input"),
        .value("height", "H", required: true, "token grid height (H × W = N)"),
        .value("width", "W", required: true, "token grid width"),
        .value("sx", "N", default: "2", "cell width: one destination token per sx × sy cell"),
        .value("sy", "N", default: "2", "cell height"),
        .value("ratio", "R", "fraction of the tokens to merge, in [0, 1) (as tomesd); give --ratio or --r"),
        .value("r", "N", "number of tokens to merge (clamped to the number of source tokens); give --ratio or --r"),
        .flag("no-random", "take the destination token at the same place in every cell (default: a random one)"),
        .value("seed", "S", default: "0", "seeds the random destination choice (not with --no-random)"),
        deviceOption,
        .value("output", "FILE", required: true, "safetensors file to write: \"merged\" and \"restored\""),
    ]
) { arguments in
    let input = try arguments.required("input")
    let key = try arguments.required("key")
    let output = try arguments.required("output")
    let height = try arguments.requiredInt("height")
    let width = try arguments.requiredInt("width")
    let sx = try arguments.requiredInt("sx")
    let sy = try arguments.requiredInt("sy")
    let ratio = try arguments.double("ratio")
    let fixedR = try arguments.int("r")
    let random = !arguments.flag("no-random")
    let seedGiven = arguments.isGiven("seed")
    let seed = try arguments.seed()
    let backend = try arguments.backend()
    try arguments.finish()

    if !random && seedGiven { throw UsageError("--seed has no effect with --no-random") }
    guard height >= 1, width >= 1 else { throw UsageError("--height and --width must be at least 1, got \(height)×\(width)") }
    // The grid must match the file's tokens before anything is built from it (the partition holds H·W entries).
    let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: input))
    let shape = try file.descriptor(key).shape
    guard shape.count == 3 else {
        throw ToMeError.shapeMismatch(tensor: key, reason: "\(input) holds shape \(shape); merge expects [B, N, C]")
    }
    guard CheckedSize.product([height, width]) == shape[1] else {
        let tokens = CheckedSize.product([height, width]).map { String($0) } ?? "more tokens than an Int holds"
        throw ToMeError.shapeMismatch(tensor: key, reason: "in \(input) (shape \(shape)) has \(shape[1]) tokens, not the \(tokens) "
            + "of a \(height)×\(width) grid")
    }
    let partition: Partition
    do {
        var generator = SplitMix64(seed: seed)
        partition = random ? try Partition(height: height, width: width, sx: sx, sy: sy, using: &generator)
                           : try Partition(height: height, width: width, sx: sx, sy: sy)
    } catch ToMeError.invalidArgument(let argument, let reason) where ["sx", "sy"].contains(argument) {
        throw UsageError("option --\(argument) \(reason)")
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
    let x = try file.tensor(key)
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
