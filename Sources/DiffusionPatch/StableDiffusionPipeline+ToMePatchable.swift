import StableDiffusion

extension StableDiffusionPipeline: ToMePatchable {
    /// The pipeline's UNet: `applyPatch(pipeline, ratio: 0.5)` patches it, as tomesd's `apply_patch(pipe)` does.
    public var unetToPatch: UNet2DConditionModel { unet }
}
