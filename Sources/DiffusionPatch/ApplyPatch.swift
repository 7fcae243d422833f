import StableDiffusion
import ToMe

/// A model Token Merging can patch: anything that runs a ``UNet2DConditionModel`` (the UNet itself; a pipeline
/// conforms by returning its UNet).
public protocol ToMePatchable {
    /// The UNet whose transformer blocks the patch hooks.
    var unet: UNet2DConditionModel { get }
}

extension UNet2DConditionModel: ToMePatchable {
    /// The UNet itself.
    public var unet: UNet2DConditionModel { self }
}

/// Patches `model` with Token Merging, tomesd 0.1.3's `apply_patch`: every transformer block merges tokens before
/// its sub-layers and unmerges after them (see ``ToMeOptions`` for the options and ``ToMePatch`` for what a block
/// call does). A Token Merging patch already applied is replaced in place; other token-reduction hooks stay (the
/// patch goes after them on blocks without one). No weight changes, and ``removePatch(_:)`` restores the model
/// exactly.
/// With ``ToMeOptions/followsHighestAttentionLevel`` the patch's `maxDownsample` is the model's
/// ``ToMeOptions/highestAttentionLevel(of:)``. ``ToMePatch/mergesNothing`` tells whether any level of the model can
/// merge at all (not on SDXL at `maxDownsample` 1).
/// - Returns: the installed patch (its options and statistics).
/// - Throws: ``PatchError/invalidOption(option:reason:)`` for a bad option; the model is then left as it was.
@discardableResult
public func applyPatch(_ model: some ToMePatchable, ratio: Double = 0.5, maxDownsample: Int = 1, sx: Int = 2,
                       sy: Int = 2, useRandom: Bool = true, mergeAttention: Bool = true,
                       mergeCrossAttention: Bool = false, mergeMLP: Bool = false, seed: UInt64 = 0) throws -> ToMePatch {
    try applyPatch(model, options: ToMeOptions(
        ratio: ratio, maxDownsample: maxDownsample, sx: sx, sy: sy, useRandom: useRandom,
        mergeAttention: mergeAttention, mergeCrossAttention: mergeCrossAttention, mergeMLP: mergeMLP, seed: seed))
}

/// Patches `model` with Token Merging configured by `options` (see ``applyPatch(_:ratio:maxDownsample:sx:sy:useRandom:mergeAttention:mergeCrossAttention:mergeMLP:seed:)``).
/// - Throws: ``PatchError/invalidOption(option:reason:)`` for a bad option; the model is then left as it was.
@discardableResult
public func applyPatch(_ model: some ToMePatchable, options: ToMeOptions) throws -> ToMePatch {
    var options = options
    if options.followsHighestAttentionLevel {
        options.maxDownsample = try model.levelToFollow { .invalidOption(option: "maxDownsample", reason: $0) }
    }
    let patch = try ToMePatch(options: options)
    patch.mergesNothing = !options.mergesAnySubLayer || options.ratio == 0
        || !model.hasAttention(downsampledAtMost: options.maxDownsample)
    model.install(patch)
    return patch
}

/// Removes a Token Merging patch from `model` (tomesd's `remove_patch`); other token-reduction hooks stay.
/// Does nothing to an unpatched model.
public func removePatch(_ model: some ToMePatchable) {
    model.unet.removeTokenReductionHooks { $0 is ToMePatch }
}

/// The Token Merging patch installed on `model`, if any.
public func appliedPatch(_ model: some ToMePatchable) -> ToMePatch? {
    model.installedHook(ToMePatch.self)
}

/// A pipeline is patched through its UNet: `applyPatch(pipeline, ratio: 0.5)`, as tomesd's `apply_patch(pipe)`.
extension StableDiffusionPipeline: ToMePatchable {}
/// The SDXL pipeline likewise (at `maxDownsample` 1 nothing merges on SDXL: see ``ToMeOptions``).
extension StableDiffusionXLPipeline: ToMePatchable {}
