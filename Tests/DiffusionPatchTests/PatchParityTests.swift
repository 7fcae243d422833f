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
