import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// Token Merging beside another token-reduction hook: the hooks compose in list order (the first one's reduction
/// outermost), applyPatch replaces only an earlier Token Merging patch, and removePatch removes only ToMe's hook.
final class PatchCompositionTests: XCTestCase {
    private var model: UNet2DConditionModel!
    private var testCase: PatchCase!

    override func setUpWithError() throws {
        model = try PatchFixtures.model("unet-sd1")
        testCase = try PatchCase(try PatchFixtures.cases(), "defaults")
    }

    private func hookIdentities(_ block: BasicTransformerBlock) -> [ObjectIdentifier] {
        block.tokenReductionHooks.map(ObjectIdentifier.init)
    }

    func testAHookBeforeTheToMePatchSeesEveryTokenAndLeavesTheOutputAlone() throws {
        let patch = try applyPatch(model, ratio: 0.5, maxDownsample: 2, useRandom: false)
        let patchedAlone = try testCase.run(model)
        removePatch(model)

        let outer = RecordingHook()
        model.appendTokenReductionHook(outer)
        let inner = try applyPatch(model, options: patch.options)
        XCTAssertTrue(model.transformerBlocks.allSatisfy {
            hookIdentities($0) == [ObjectIdentifier(outer), ObjectIdentifier(inner)]
        })
        XCTAssertEqual(try testCase.run(model), patchedAlone, "an identity hook outside ToMe changes nothing")
        XCTAssertGreaterThan(inner.statistics.tokensMerged, 0)
        // Outside ToMe: merge sees the block's tokens, unmerge gets them back after ToMe's unmerge.
        XCTAssertFalse(outer.log.isEmpty)
        XCTAssertTrue(outer.log.allSatisfy { $0.mergeInput == $0.blockTokens && $0.unmergeInput == $0.blockTokens })
    }

    func testAHookAfterTheToMePatchSeesTheMergedTokens() throws {
        let patch = try applyPatch(model, ratio: 0.5, maxDownsample: 1, useRandom: false)
        let inner = RecordingHook()
        model.appendTokenReductionHook(inner)
        XCTAssertTrue(model.transformerBlocks.allSatisfy {
            hookIdentities($0) == [ObjectIdentifier(patch), ObjectIdentifier(inner)]
        })
        _ = try testCase.run(model)
        // Inside ToMe: in the blocks ToMe merges, both calls see the merged token count.
        let merged = inner.log.filter { $0.mergeInput < $0.blockTokens }
        XCTAssertFalse(merged.isEmpty, "ToMe merged before the inner hook in some block")
        XCTAssertTrue(inner.log.allSatisfy { $0.unmergeInput == $0.mergeInput })
    }

    func testApplyReplacesOnlyToMeInPlaceAndRemoveLeavesTheOtherHook() throws {
        let other = RecordingHook()
        try applyPatch(model, ratio: 0.3)
        model.appendTokenReductionHook(other)
        let second = try applyPatch(model, ratio: 0.6)
        XCTAssertTrue(appliedPatch(model) === second)
        XCTAssertTrue(model.transformerBlocks.allSatisfy {
            hookIdentities($0) == [ObjectIdentifier(second), ObjectIdentifier(other)]
        }, "the new patch takes the old one's place; the other hook stays where it was")
        removePatch(model)
        XCTAssertNil(appliedPatch(model))
        XCTAssertTrue(model.transformerBlocks.allSatisfy { hookIdentities($0) == [ObjectIdentifier(other)] })
    }
}

/// A hook whose self-attention reducer changes nothing but records the token counts it is handed.
private final class RecordingHook: TokenReductionHook {
    struct Entry {
        let blockTokens: Int
        var mergeInput = 0
        var unmergeInput = 0
    }

    private(set) var log: [Entry] = []

    func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan {
        log.append(Entry(blockTokens: hiddenStates.shape[1]))
        return TokenReductionPlan(selfAttention: Recorder(hook: self, index: log.count - 1))
    }

    private struct Recorder: TokenReducer {
        let hook: RecordingHook
        let index: Int

        func merge(_ tokens: Tensor) throws -> Tensor {
            hook.log[index].mergeInput = tokens.shape[1]
            return tokens
        }

        func unmerge(_ tokens: Tensor) throws -> Tensor {
            hook.log[index].unmergeInput = tokens.shape[1]
            return tokens
        }
    }
}
