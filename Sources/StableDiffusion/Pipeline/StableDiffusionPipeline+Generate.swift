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
        try validate(configuration)
        var scheduler = try makeScheduler(configuration)
        var timings = StageTimings()

        var clock = StageClock()
        let prompts = try encodePrompts(configuration).repeated(configuration.imagesPerPrompt)
        releaseTextEncoderIfAsked()
        timings.textEncoding = clock.elapsed

        clock = StageClock()
        var generator = TorchGenerator(seed: configuration.seed)
        let (noise, start) = try initialLatents(configuration, scheduler: &scheduler, generator: &generator)
        var latents = start
        if configuration.initImage != nil {
            timings.imageEncoding = clock.elapsed
            clock = StageClock()
        }
        let timesteps = scheduler.timesteps[scheduler.stepIndex...]
        let total = timesteps.count
        for (index, timestep) in timesteps.enumerated() {
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
        [batch, vae.config.latentChannels, height / vaeScaleFactor, width / vaeScaleFactor]
    }

    /// Checks `configuration` (``GenerationConfiguration/validate()``), that its initial latents fit this
    /// pipeline, and that an init image can be encoded.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate(_ configuration: GenerationConfiguration) throws {
        try configuration.validate()
        try checkMemory(configuration)
        let expected = latentShape(width: configuration.width, height: configuration.height,
                                   batch: configuration.imagesPerPrompt)
        if let latents = configuration.initialLatents {
            guard latents.shape == expected else {
                throw PipelineError.invalidParameter(
                    name: "initial latents",
                    reason: "expected shape \(expected) (NCHW) for \(configuration.imagesPerPrompt) image(s) of \(configuration.width)×\(configuration.height), got \(latents.shape)")
            }
            guard latents.scalars.allSatisfy(\.isFinite) else {
                throw PipelineError.invalidParameter(name: "initial latents", reason: "contain NaN or infinite values")
            }
        }
        if configuration.initImage != nil {
            guard vae.hasEncoder else {
                throw PipelineError.invalidParameter(name: "init image", reason: "the model's VAE has no encoder weights, so it cannot encode an image")
            }
            let (width, height) = configuration.imageSize
            guard width % vaeScaleFactor == 0, height % vaeScaleFactor == 0 else {
                throw PipelineError.invalidParameter(
                    name: "init image", reason: "\(width)×\(height) is not a multiple of the VAE's scale factor \(vaeScaleFactor)")
            }
        }
    }

    /// Throws when the UNet's or the VAE's activations for the configuration's image size cannot fit in physical
    /// memory (estimated from the models' configurations: ``UNetConfig/estimatedActivationBytes(batch:height:width:attention:)``,
    /// ``VAEConfig/estimatedDecodeActivationBytes(height:width:)``), before anything of the run is allocated.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming width and height.
    private func checkMemory(_ configuration: GenerationConfiguration) throws {
        let (width, height) = configuration.imageSize
        let images = configuration.imagesPerPrompt
        let unetBytes = unet.config.estimatedActivationBytes(
            batch: images * (configuration.usesGuidance ? 2 : 1), height: height / vaeScaleFactor,
            width: width / vaeScaleFactor, attention: unet.attentionImplementation)
        let vaeBytes = vae.config.estimatedDecodeActivationBytes(height: height, width: width)
            .flatMap { CheckedSize.product([$0, images]) }
        let memory = CheckedSize.physicalMemoryBytes
        for (stage, bytes) in [("denoising", unetBytes), ("decoding", vaeBytes)] where bytes.map({ $0 > memory }) ?? true {
            throw PipelineError.invalidParameter(
                name: "width and height",
                reason: "\(width)×\(height) is too large: \(stage) would need about "
                    + (bytes.map { CheckedSize.describe(bytes: $0) } ?? "more bytes than can be counted")
                    + ", more than this machine's \(CheckedSize.describe(bytes: memory)) of memory")
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
