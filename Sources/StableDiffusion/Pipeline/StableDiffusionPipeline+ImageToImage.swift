import ImageFiles
import TensorCore

extension StableDiffusionPipeline {
    /// Image-to-image (diffusers' `StableDiffusionImg2ImgPipeline`): ``generate(_:progress:)`` starting from `image`
    /// instead of pure noise, with each parameter of ``GenerationConfiguration`` spelled out. The images have
    /// `image`'s size (width and height multiples of 8); `strength` in (0, 1] says how much of it to repaint: the
    /// last `⌊steps · strength⌋` steps run.
    ///
    /// ```swift
    /// let start = try RGBImage(contentsOfPNG: URL(fileURLWithPath: "sketch.png"))
    /// let result = try pipeline.generate(prompt: "a watercolor of a lighthouse", image: start, strength: 0.75, seed: 1)
    /// ```
    /// - Throws: as ``generate(_:progress:)``.
    public func generate(prompt: String, image: RGBImage, strength: Double = 0.8, negativePrompt: String? = nil,
                         steps: Int = 50, guidanceScale: Float = 7.5, seed: UInt64 = 0, scheduler: SchedulerPreset? = nil,
                         imagesPerPrompt: Int = 1,
                         progress: ((GenerationProgress) -> ProgressAction)? = nil) throws -> GenerationResult {
        var configuration = GenerationConfiguration(prompt: prompt)
        configuration.initImage = image
        configuration.strength = strength
        configuration.negativePrompt = negativePrompt
        configuration.steps = steps
        configuration.guidanceScale = guidanceScale
        configuration.seed = seed
        configuration.scheduler = scheduler
        configuration.imagesPerPrompt = imagesPerPrompt
        return try generate(configuration, progress: progress)
    }

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
