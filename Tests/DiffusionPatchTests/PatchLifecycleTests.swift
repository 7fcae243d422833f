import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// applyPatch / removePatch: nothing but the hooks changes, removal restores the unpatched outputs bit for bit,
/// applying again replaces the patch, and a failed apply leaves the model as it was.
final class PatchLifecycleTests: XCTestCase {
    private var model: UNet2DConditionModel!
    private var testCase: PatchCase!

    override func setUpWithError() throws {
        model = try PatchFixtures.model("unet-sd1")
        testCase = try PatchCase(try PatchFixtures.cases(), "defaults")
    }

    func testRemovePatchRestoresTheUnpatchedOutputsExactly() throws {
        let before = try testCase.run(model)
        let patch = try applyPatch(model, ratio: 0.5, maxDownsample: 4, mergeCrossAttention: true, mergeMLP: true)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { onlyHook($0) === patch })
        XCTAssertNotEqual(try testCase.run(model), before)
        XCTAssertGreaterThan(patch.statistics.tokensMerged, 0)
        removePatch(model)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { $0.tokenReductionHooks.isEmpty })
        XCTAssertNil(appliedPatch(model))
        XCTAssertEqual(try testCase.run(model), before, "weights and model state untouched by the patch")
    }

    func testRatioZeroIsTheUnpatchedModel() throws {
        let before = try testCase.run(model)
        let patch = try applyPatch(model, ratio: 0, maxDownsample: 8, mergeCrossAttention: true, mergeMLP: true)
        XCTAssertEqual(try testCase.run(model), before)
        XCTAssertEqual(patch.statistics.mergingCalls, 0)
    }

    func testApplyingTwiceReplacesTheFirstPatch() throws {
        let first = try applyPatch(model, ratio: 0.3, useRandom: false)
        let second = try applyPatch(model, ratio: 0.75, maxDownsample: 2, useRandom: false)
        XCTAssertTrue(appliedPatch(model) === second)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { onlyHook($0) === second })
        let twice = try testCase.run(model)
        XCTAssertEqual(first.statistics.blockCalls, 0, "the replaced patch is no longer called")

        removePatch(model)
        try applyPatch(model, ratio: 0.75, maxDownsample: 2, useRandom: false)
        XCTAssertEqual(try testCase.run(model), twice, "the same as applying only the second patch")
    }

    func testAFailedApplyLeavesTheModelAsItWas() throws {
        let patch = try applyPatch(model, ratio: 0.4)
        XCTAssertThrowsError(try applyPatch(model, ratio: 1.5))
        XCTAssertTrue(appliedPatch(model) === patch)
    }

    func testRemovePatchLeavesOtherHooksAndUnpatchedModelsAlone() throws {
        final class OtherHook: TokenReductionHook {
            func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan { .unchanged }
        }
        removePatch(model)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { $0.tokenReductionHooks.isEmpty })
        let other = OtherHook()
        model.appendTokenReductionHook(other)
        removePatch(model)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { onlyHook($0) === other })
        XCTAssertNil(appliedPatch(model))
    }

    func testTheDefaultsAreTomesds() throws {
        let patch = try applyPatch(model)
        XCTAssertEqual(patch.options, .defaults)
        XCTAssertEqual(ToMeOptions.defaults, try ToMeOptions(ratio: 0.5, maxDownsample: 1, sx: 2, sy: 2, useRandom: true,
                                                      mergeAttention: true, mergeCrossAttention: false,
                                                      mergeMLP: false, seed: 0))
    }

    func testStatisticsCountAndTimeEveryPlan() throws {
        let patch = try applyPatch(model, ratio: 0.5, maxDownsample: 4, useRandom: false)
        _ = try testCase.run(model)
        let statistics = patch.statistics
        XCTAssertEqual(statistics.blockCalls, model.transformerBlocks.count)
        XCTAssertEqual(statistics.mergingCalls, model.transformerBlocks.count)
        XCTAssertGreaterThan(statistics.planningSeconds, 0)
        XCTAssertGreaterThan(statistics.mergeSeconds, 0)
        XCTAssertGreaterThan(statistics.unmergeSeconds, 0)
        XCTAssertEqual(statistics.overheadSeconds,
                       statistics.planningSeconds + statistics.mergeSeconds + statistics.unmergeSeconds)
        patch.resetStatistics()
        XCTAssertEqual(patch.statistics, ToMeStatistics())
    }
}
