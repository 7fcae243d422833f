import StableDiffusion
import TensorCore

/// Patches `model` with Token Downsampling (ToDo): in every transformer block at a selected level, self-attention
/// takes its keys and values from the token grid shrunk by `factor` (see ``ToDoOptions`` and ``ToDoPatch``).
/// A ToDo patch already applied is replaced in place; other token-reduction hooks (Token Merging) stay, so both
/// methods can sit on one model. No weight changes; ``removeTokenDownsampling(_:)`` restores the model exactly.
/// - Returns: the installed patch (its options and statistics).
/// - Throws: ``PatchError/invalidToDoOption(option:reason:)`` for a bad option; the model is then left as it was.
@discardableResult
public func applyTokenDownsampling(_ model: some ToMePatchable, factor: Int = 2, method: ResizeMethod = .nearestExact,
                                   maxDownsample: Int = 1) throws -> ToDoPatch {
    try applyTokenDownsampling(model, options: ToDoOptions(factor: factor, method: method, maxDownsample: maxDownsample))
}

/// Patches `model` with Token Downsampling configured by `options` (see
/// ``applyTokenDownsampling(_:factor:method:maxDownsample:)``). With ``ToDoOptions/followsHighestAttentionLevel``
/// the patch's `maxDownsample` is the model's ``ToMeOptions/highestAttentionLevel(of:)``.
/// ``ToDoPatch/downsamplesNothing`` tells whether it acts anywhere (not on SDXL at `maxDownsample` 1).
/// - Throws: ``PatchError/invalidToDoOption(option:reason:)`` for a bad option; the model is then left as it was.
@discardableResult
public func applyTokenDownsampling(_ model: some ToMePatchable, options: ToDoOptions) throws -> ToDoPatch {
    var options = options
    if options.followsHighestAttentionLevel {
        options.maxDownsample = try model.levelToFollow { .invalidToDoOption(option: "maxDownsample", reason: $0) }
    }
    let patch = try ToDoPatch(options: options)
    patch.downsamplesNothing = options.factor == 1 || !model.hasAttention(downsampledAtMost: options.maxDownsample)
    model.install(patch)
    return patch
}

/// Removes Token Downsampling from `model`; other token-reduction hooks stay. Does nothing to an unpatched model.
public func removeTokenDownsampling(_ model: some ToMePatchable) {
    model.unet.removeTokenReductionHooks { $0 is ToDoPatch }
}

/// The Token Downsampling patch installed on `model`, if any.
public func appliedTokenDownsampling(_ model: some ToMePatchable) -> ToDoPatch? {
    model.installedHook(ToDoPatch.self)
}
