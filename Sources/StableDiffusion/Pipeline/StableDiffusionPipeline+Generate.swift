import TensorCore

extension StableDiffusionPipeline {
    /// Generates ``GenerationConfiguration/imagesPerPrompt`` images for `configuration`, as diffusers'
    /// `StableDiffusionPipeline.__call__` (or, with an init image, `StableDiffusionImg2ImgPipeline.__call__`) with
    /// `generator=torch.Generator().manual_seed(seed)`:
    /// 1. the prompt (and, with guidance, the negative prompt, "" by default) is tokenized — a prompt over the
    ///    token limit is truncated, see ``GenerationResult/truncatedPrompt`` — encoded, and repeated once per image;
    /// 2. text-to-image: the initial latents of all images are drawn from the seed in one call (or taken from the
    ///    configuration) and scaled by the scheduler's `init_noise_sigma`; image-to-image: see
    ///    ``initialLatents(_:scheduler:generator:)``;
    /// 3. each timestep runs the UNet — with guidance on the unconditional and the conditional items as one batch,
    ///    combined as `uncond + scale · (cond − uncond)` — and a scheduler step;
    /// 4. the latents are divided by the VAE's `scaling_factor`, decoded and quantised to 8 bits, one image each.
    ///
    /// - Parameter progress: called after every denoising step; returning ``ProgressAction/cancel`` stops the
    ///   generation.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` for a size that is not a positive multiple of 8, a
    ///   step count below 1, a non-finite guidance scale, initial latents of the wrong shape, an images-per-prompt
    ///   count outside 1...16, or a strength outside (0, 1] or leaving no step;
    ///   ``SchedulerError`` for a scheduler class or option this package does not implement;
    ///   ``PipelineError/cancelled(completedSteps:totalSteps:)`` when `progress` asks to stop.
    public func generate(_ configuration: GenerationConfiguration,
                         progress: ((GenerationProgress) -> ProgressAction)? = nil) throws -> GenerationResult {
        try stages.generate(configuration, progress: progress) { try encodePrompts(configuration) }
    }

    /// ``generate(_:progress:)`` with each parameter of ``GenerationConfiguration`` spelled out.
    /// - Throws: as ``generate(_:progress:)``.
    public func generate(prompt: String, negativePrompt: String? = nil, width: Int = 512, height: Int = 512,
                         steps: Int = 50, guidanceScale: Float = 7.5, seed: UInt64 = 0, scheduler: SchedulerPreset? = nil,
                         initialLatents: Tensor? = nil, imagesPerPrompt: Int = 1,
                         progress: ((GenerationProgress) -> ProgressAction)? = nil) throws -> GenerationResult {
        var configuration = GenerationConfiguration(prompt: prompt)
        configuration.imagesPerPrompt = imagesPerPrompt
        configuration.negativePrompt = negativePrompt
        configuration.width = width
        configuration.height = height
        configuration.steps = steps
        configuration.guidanceScale = guidanceScale
        configuration.seed = seed
        configuration.scheduler = scheduler
        configuration.initialLatents = initialLatents
        return try generate(configuration, progress: progress)
    }

    /// The shape of the latents for `batch` images of `width` × `height`:
    /// `[batch, latent_channels, height / s, width / s]`.
    public func latentShape(width: Int, height: Int, batch: Int = 1) -> [Int] {
        stages.latentShape(width: width, height: height, batch: batch)
    }

    /// Checks `configuration` (``GenerationConfiguration/validate()``), that its initial latents fit this
    /// pipeline, and that an init image can be encoded.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate(_ configuration: GenerationConfiguration) throws {
        try stages.validate(configuration)
    }
}
