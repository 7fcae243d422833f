// Runs the built-in demo pipeline (small models with seeded random weights: no download) with Token Merging, shows
// progress after every step and cancels when asked (`--cancel-after N`), then writes the image to a temporary file.
import DiffusionPatch
import Foundation
import ImageFiles
import StableDiffusion

let words = CommandLine.arguments.dropFirst()
var cancelAfter: Int?
if let index = words.firstIndex(of: "--cancel-after"), index + 1 < words.endIndex {
    cancelAfter = Int(words[index + 1])
}

do {
    let pipeline = try StableDiffusionPipeline.builtInDemo(seed: 0)
    try applyPatch(pipeline, ratio: 0.5)
    let result = try pipeline.generate(prompt: "a photo of a cat", width: 64, height: 64, steps: 2,
                                       scheduler: .ddim) { progress in
        print("step \(progress.step)/\(progress.totalSteps), \(String(format: "%.2f", progress.elapsed)) s")
        if let cancelAfter, progress.step >= cancelAfter { return .cancel }
        return .proceed
    }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("demo-consumer.png")
    try result.images[0].writePNG(to: url)
    print("wrote \(url.path) (\(result.images[0].width)×\(result.images[0].height), noise: the demo's weights are random)")
} catch let PipelineError.cancelled(completedSteps, totalSteps) {
    print("cancelled after \(completedSteps) of \(totalSteps) steps, as asked")
} catch {
    print("error: \(error)")
    exit(1)
}
