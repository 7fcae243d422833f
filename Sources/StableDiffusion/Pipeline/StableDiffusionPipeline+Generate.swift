import TensorCore

extension StableDiffusionPipeline {
    /// Generates an image for `configuration`, as diffusers' `StableDiffusionPipeline.__call__` with
    /// `generator=torch.Generator().manual_seed(seed)`:
    /// 1. the prompt (and, with guidance, the negative prompt, "" by default) is tokenized — a prompt over the
    ///    token limit is truncated, see ``GenerationResult/truncatedPrompt`` — and encoded;
    /// 2. the initial latents are drawn from the seed (or taken from the configuration) and scaled by the
    ///    scheduler's `init_noise_sigma`;
    /// 3. each timestep runs the UNet — with guidance on the unconditional and the conditional item as one batch
    ///    of 2, combined as `uncond + scale · (cond − uncond)` — and a scheduler step;
    /// 4. the latents are divided by the VAE's `scaling_factor`, decoded and quantised to 8 bits.
    ///
    /// - Parameter progress: called after every denoising step; returning ``ProgressAction/cancel`` stops the
    ///   generation.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` for a size that is not a positive multiple of 8, a
    ///   step count below 1, a non-finite guidance scale or initial latents of the wrong shape;
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
                         initialLatents: Tensor? = nil,
                         progress: ((GenerationProgress) -> ProgressAction)? = nil) throws -> GenerationResult {
        var configuration = GenerationConfiguration(prompt: prompt)
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

    /// The shape of the latents for an image of `width` × `height`: `[1, latent_channels, height / s, width / s]`.
    public func latentShape(width: Int, height: Int) -> [Int] {
        stages.latentShape(width: width, height: height)
    }

    /// Checks `configuration` (``GenerationConfiguration/validate()``) and that its initial latents fit this
    /// pipeline.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate(_ configuration: GenerationConfiguration) throws {
        try stages.validate(configuration)
    }
}
