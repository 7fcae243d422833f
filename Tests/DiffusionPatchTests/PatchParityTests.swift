import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// Patched outputs against tomesd 0.1.3 applied to diffusers (no-random), case by case: defaults, ratios 0.3 and
/// 0.75, unequal strides, maxDownsample 2 and 4, cross-attention and MLP merging, batches 1 and 3, non-square and
/// non-divisible latents, odd cells, SD2 and SDXL UNets.
final class PatchParityTests: XCTestCase {
    func testPatchedOutputsMatchTomesdPatchedDiffusers() throws {
        let file = try PatchFixtures.cases()
        let names = PatchFixtures.caseNames(file)
        XCTAssertGreaterThanOrEqual(names.count, 19)
        var models: [String: UNet2DConditionModel] = [:]
        for name in names {
            let testCase = try PatchCase(file, name)
            let model = try models[testCase.modelFolder] ?? PatchFixtures.model(testCase.modelFolder)
            models[testCase.modelFolder] = model
            removePatch(model)
            assertMatchesReference(try testCase.run(model), testCase.unpatched,
                                   "\(name) unpatched (if this fails, rerun make_patch_fixtures.py)")

            let patch = try applyPatch(model, options: testCase.options)
            assertMatchesReference(try testCase.run(model), testCase.patched, "\(name) patched")
            let statistics = patch.statistics
            XCTAssertEqual([statistics.blockCalls, statistics.mergingCalls, statistics.tokensMerged], testCase.merges,
                           "\(name): (block calls, merging calls, tokens merged) as tomesd's")
            if name != "sdxl-default" {
                XCTAssertGreaterThan(statistics.tokensMerged, 0, "\(name) merges tokens")
            }
        }
    }

    /// The patch on bf16 models (``Precision/bf16``), unchanged: the same merges as tomesd's, and patched outputs
    /// within bfloat16 error of tomesd-patched diffusers fp32 (relative L2 ≤ 2e-2, about twice PyTorch's own bf16
    /// error on these UNets; the metric is computed from the fp32 hidden states, so plans only move where bf16
    /// weights change which tokens are most similar).
    func testPatchWorksOnTheBF16Path() throws {
        let file = try PatchFixtures.cases()
        var models: [String: UNet2DConditionModel] = [:]
        var worst = 0.0
        for name in PatchFixtures.caseNames(file) {
            let testCase = try PatchCase(file, name)
            let model = try models[testCase.modelFolder]
                ?? UNet2DConditionModel.load(from: PatchFixtures.url("sd/\(testCase.modelFolder)"), precision: .bf16)
            models[testCase.modelFolder] = model
            removePatch(model)
            let patch = try applyPatch(model, options: testCase.options)
            let output = try testCase.run(model)
            let statistics = patch.statistics
            XCTAssertEqual([statistics.blockCalls, statistics.mergingCalls, statistics.tokensMerged], testCase.merges, name)
            var difference = 0.0, reference = 0.0
            for (a, e) in zip(output.scalars, testCase.patched.scalars) {
                difference += Double(a - e) * Double(a - e)
                reference += Double(e) * Double(e)
            }
            let error = (difference / reference).squareRoot()
            worst = max(worst, error)
            XCTAssertLessThanOrEqual(error, 2e-2, "\(name): bf16 patched against tomesd fp32")
        }
        XCTAssertGreaterThan(worst, 1e-4, "the models must really run in bf16")
    }

    func testSDXLMergesNothingAtMaxDownsampleOneAndMergesAtTwo() throws {
        let file = try PatchFixtures.cases()
        let model = try PatchFixtures.model("unet-sdxl")
        let testCase = try PatchCase(file, "sdxl-default")
        XCTAssertEqual(testCase.options.maxDownsample, 1)
        let unpatched = try testCase.run(model)
        let patch = try applyPatch(model, ratio: 0.5, useRandom: false)
        XCTAssertEqual(try testCase.run(model), unpatched, "no SDXL block of this UNet is at downsample 1")
        XCTAssertEqual(patch.statistics.mergingCalls, 0)
        XCTAssertEqual(patch.statistics.blockCalls, model.transformerBlocks.count)

        let deeper = try applyPatch(model, ratio: 0.5, maxDownsample: 2, useRandom: false)
        XCTAssertNotEqual(try testCase.run(model), unpatched)
        XCTAssertEqual(deeper.statistics.mergingCalls, model.transformerBlocks.count)
    }
}
