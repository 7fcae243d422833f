import StableDiffusion
import ToMe

extension ToMePatchable {
    /// Puts `hook` on every transformer block in the place of an earlier hook of its own type (one per block, so
    /// re-applying a method keeps its place among the other reductions), or after the others where there is none.
    func install<Hook: TokenReductionHook>(_ hook: Hook) {
        for block in unet.transformerBlocks {
            if let index = block.tokenReductionHooks.firstIndex(where: { $0 is Hook }) {
                block.tokenReductionHooks[index] = hook
                block.tokenReductionHooks.removeAll { $0 is Hook && $0 !== hook }
            } else {
                block.tokenReductionHooks.append(hook)
            }
        }
    }

    /// Whether the model has a transformer block at a level that a reduction with `maxDownsample` acts on (the
    /// level rule is ``MergeGrid/merges(downsample:maxDownsample:)``; SDXL has none at 1).
    func hasAttention(downsampledAtMost maxDownsample: Int) -> Bool {
        unet.config.attentionDownsampleFactors.contains {
            MergeGrid.merges(downsample: $0, maxDownsample: maxDownsample)
        }
    }

    /// ``ToMeOptions/highestAttentionLevel(of:)`` of the model, for a reduction told to follow it; `failure` (given
    /// the reason) when the model has none.
    func levelToFollow(_ failure: (String) -> PatchError) throws -> Int {
        guard let level = ToMeOptions.highestAttentionLevel(of: self) else {
            throw failure("the model has no transformer block at downsample 1, 2, 4 or 8 to follow")
        }
        return level
    }

    /// The first installed hook of type `Hook`, if any.
    func installedHook<Hook: TokenReductionHook>(_ type: Hook.Type) -> Hook? {
        unet.transformerBlocks.lazy.compactMap { $0.tokenReductionHooks.lazy.compactMap { $0 as? Hook }.first }.first
    }
}
