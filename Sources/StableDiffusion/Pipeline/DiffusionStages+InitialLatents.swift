import ImageFiles
import TensorCore

extension DiffusionStages {
    /// The noise of a generation and the latents the denoising loop starts from, both
    /// `[imagesPerPrompt, latent_channels, h, w]` (NCHW), drawing from `generator` in diffusers' order.
    ///
    /// Text-to-image: unit noise for all images in one draw (or the configuration's initial latents), started from
    /// times the scheduler's `init_noise_sigma`. Image-to-image, as diffusers' `get_timesteps` and
    /// `prepare_latents`: the scheduler begins at step ``GenerationConfiguration/skippedSteps``; the init image,
    /// scaled to [-1, 1], is encoded by the VAE and its latent distribution sampled (the first draw), times the
    /// VAE's `scaling_factor`, repeated once per image; the noise of that shape is drawn (the second draw) and
    /// added by the scheduler's `add_noise` at its first step.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` for a VAE without an encoder; the VAE's and
    ///   scheduler's errors.
    func initialLatents(_ configuration: GenerationConfiguration, scheduler: inout any Scheduler,
                        generator: inout TorchGenerator) throws -> (noise: Tensor, start: Tensor) {
        let batch = configuration.imagesPerPrompt
        guard let image = configuration.initImage else {
            let (width, height) = configuration.imageSize
            let noise = try configuration.initialLatents
                ?? generator.standardNormal(shape: latentShape(width: width, height: height, batch: batch))
            return (noise, noise * scheduler.initNoiseSigma)
        }
        try scheduler.setBeginIndex(configuration.skippedSteps)
        let distribution = try vae.encode(RGBImage.encoderInput(image))
        let encoded = try distribution.sample(using: &generator) * vae.config.scalingFactor
        let original = try encoded.repeatingItems(batch)
        let noise = try generator.standardNormal(shape: original.shape)
        return (noise, try scheduler.addNoise(to: original, noise: noise))
    }
}
