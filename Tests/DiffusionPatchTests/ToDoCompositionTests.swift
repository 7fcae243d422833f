import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// Token Merging and Token Downsampling on one model. The reference cannot combine them (its ToDo processor would
/// read ToMe's merged tokens as a grid), so the combination is defined here: ToMe merges the queries' tokens and
/// restores the output; ToDo's keys and values always come from the block's full normalised grid.
final class ToDoCompositionTests: XCTestCase {
    private var model: UNet2DConditionModel!
    private var testCase: ToDoCase!

    override func setUpWithError() throws {
        model = try PatchFixtures.model("unet-sd1")
        testCase = try ToDoCase(try ToDoCase.cases(), "max-downsample-2")
    }

    func testBothHooksRunAndTheOrderOfInstallingThemDoesNotMatter() throws {
        let tome = try ToMeOptions(ratio: 0.5, maxDownsample: 2, useRandom: false)
        try applyPatch(model, options: tome)
        let tomeAlone = try testCase.run(model)
        removePatch(model)
        let todoAlonePatch = try applyTokenDownsampling(model, options: testCase.options)
        let todoAlone = try testCase.run(model)
        let todoAloneRemoved = todoAlonePatch.statistics.tokensRemoved

        let merging = try applyPatch(model, options: tome)  // after ToDo on every block
        XCTAssertTrue(model.transformerBlocks.allSatisfy { $0.tokenReductionHooks.count == 2 })
        let downsampling = try XCTUnwrap(appliedTokenDownsampling(model))
        downsampling.resetStatistics()
        let both = try testCase.run(model)
        XCTAssertGreaterThan(merging.statistics.tokensMerged, 0, "ToMe merged")
        XCTAssertEqual(downsampling.statistics.tokensRemoved, todoAloneRemoved,
                       "ToDo downsampled the full grids, not ToMe's merged tokens")
        XCTAssertGreaterThan(relativeDistance(both, tomeAlone), 1e-3, "ToDo acts beside ToMe")
        XCTAssertGreaterThan(relativeDistance(both, todoAlone), 1e-3, "ToMe acts beside ToDo")

        removePatch(model)
        removeTokenDownsampling(model)
        try applyPatch(model, options: tome)
        try applyTokenDownsampling(model, options: testCase.options)
        XCTAssertEqual(try testCase.run(model), both, "ToMe first, then ToDo: the same output")
    }

    func testToMeThatMergesNothingLeavesToDoAtTheReference() throws {
        try applyPatch(model, ratio: 0, maxDownsample: 2, useRandom: false)
        try applyTokenDownsampling(model, options: testCase.options)
        assertMatchesReference(try testCase.run(model), testCase.patched, "ToMe ratio 0 + ToDo")
    }
}
