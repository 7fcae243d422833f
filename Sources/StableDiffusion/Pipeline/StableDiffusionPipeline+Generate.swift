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
        try validate(configuration)
        var scheduler = try makeScheduler(configuration)
        var timings = StageTimings()

        var clock = StageClock()
        let prompts = try encodePrompts(configuration)
        releaseTextEncoderIfAsked()
        timings.textEncoding = clock.elapsed

        clock = StageClock()
        var generator = TorchGenerator(seed: configuration.seed)
        let noise = try configuration.initialLatents
            ?? generator.standardNormal(shape: latentShape(width: configuration.width, height: configuration.height))
        var latents = noise * scheduler.initNoiseSigma
        let total = scheduler.timesteps.count
        for (index, timestep) in scheduler.timesteps.enumerated() {
            let prediction = try predictNoise(latents, timestep: timestep, scheduler: scheduler, prompts: prompts,
                                              guidanceScale: configuration.guidanceScale)
            latents = try scheduler.step(modelOutput: prediction, sample: latents, noise: &generator)
            timings.unetSteps += 1
            let report = GenerationProgress(step: index + 1, totalSteps: total, latents: latents, elapsed: clock.elapsed.wall)
            if progress?(report) == .cancel {
                throw PipelineError.cancelled(completedSteps: index + 1, totalSteps: total)
            }
        }
        timings.denoising = clock.elapsed

        clock = StageClock()
        let images = try decode(latents)
        timings.decoding = clock.elapsed
        return GenerationResult(images: images, initialLatents: noise, latents: latents, truncatedPrompt: prompts.truncatedPrompt,
                                truncatedNegativePrompt: prompts.truncatedNegativePrompt, timings: timings)
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
        [1, vae.config.latentChannels, height / vaeScaleFactor, width / vaeScaleFactor]
    }

    /// Checks `configuration` (``GenerationConfiguration/validate()``) and that its initial latents fit this
    /// pipeline.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate(_ configuration: GenerationConfiguration) throws {
        try configuration.validate()
        let expected = latentShape(width: configuration.width, height: configuration.height)
        if let latents = configuration.initialLatents {
            guard latents.shape == expected else {
                throw PipelineError.invalidParameter(
                    name: "initial latents",
                    reason: "expected shape \(expected) (NCHW) for a \(configuration.width)×\(configuration.height) image, got \(latents.shape)")
            }
            guard latents.scalars.allSatisfy(\.isFinite) else {
                throw PipelineError.invalidParameter(name: "initial latents", reason: "contain NaN or infinite values")
            }
        }
    }

    /// The configuration's sampler on the model's scheduler configuration, or the model's own class.
    private func makeScheduler(_ configuration: GenerationConfiguration) throws -> any Scheduler {
        if let preset = configuration.scheduler {
            return try preset.make(config: schedulerConfig, steps: configuration.steps)
        }
        return try SchedulerKind(config: schedulerConfig).make(config: schedulerConfig, steps: configuration.steps)
    }
}
