import ImageFiles
import TensorCore

/// What every text-to-image pipeline here shares once its prompts are encoded — the one home of the generation
/// flow, the initial latents, classifier-free guidance, the denoising loop and decoding: ``StableDiffusionPipeline``
/// and ``StableDiffusionXLPipeline`` differ only in how they encode prompts (``EncodedPrompts``).
struct DiffusionStages {
    let unet: UNet2DConditionModel
    let vae: AutoencoderKL
    let schedulerConfig: SchedulerConfig

    /// How many times smaller than the image the latents are.
    var vaeScaleFactor: Int { vae.config.scaleFactor }

    /// The image size a generation takes by default, as diffusers: the UNet's `sample_size` times the VAE's scale
    /// factor (512 for Stable Diffusion 1.x, 1024 for SDXL), with `fallbackSampleSize` where the config has none.
    func defaultImageSize(fallbackSampleSize: Int) -> Int {
        (unet.config.sampleSize ?? fallbackSampleSize) * vaeScaleFactor
    }

    /// `[batch, latent_channels, height / s, width / s]`.
    func latentShape(width: Int, height: Int, batch: Int = 1) -> [Int] {
        [batch, vae.config.latentChannels, height / vaeScaleFactor, width / vaeScaleFactor]
    }

    /// Checks `configuration` (``GenerationConfiguration/validate()``), that its initial latents fit, and that an
    /// init image can be encoded.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    func validate(_ configuration: GenerationConfiguration) throws {
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

    /// A whole generation: validation, `encode` (timed as text encoding) repeated once per image, the initial
    /// latents (``initialLatents(_:scheduler:generator:)``), the denoising loop from the scheduler's begin index,
    /// decoding.
    func generate(_ configuration: GenerationConfiguration, progress: ((GenerationProgress) -> ProgressAction)?,
                  encode: () throws -> EncodedPrompts) throws -> GenerationResult {
        try validate(configuration)
        var scheduler = try makeScheduler(configuration)
        var timings = StageTimings()

        var clock = StageClock()
        let prompts = try encode().repeated(configuration.imagesPerPrompt)
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
        return GenerationResult(images: images, initialLatents: noise, latents: latents,
                                truncatedPrompt: prompts.truncatedPrompt,
                                truncatedNegativePrompt: prompts.truncatedNegativePrompt, timings: timings)
    }

    /// The scheduler's model output for `latents` (NCHW, n items) at `timestep`: one UNet call, on a batch of 2n
    /// with guidance, combined as diffusers does (`uncond + scale · (cond − uncond)`).
    func predictNoise(_ latents: Tensor, timestep: Float, scheduler: any Scheduler, prompts: EncodedPrompts,
                      guidanceScale: Float) throws -> Tensor {
        let batch = prompts.guided ? try Tensor.concatenated([latents, latents], axis: 0) : latents
        let input = try scheduler.scaleModelInput(batch).permuted([0, 2, 3, 1])
        let output = try unet(input, timesteps: [timestep], encoderHiddenStates: prompts.embeddings,
                              textTime: prompts.textTime).permuted([0, 3, 1, 2])
        guard prompts.guided else { return output }
        let half = output.count / 2
        var guided = Tensor(uninitialized: latents.shape)
        output.withUnsafeBufferPointer { prediction in
            guided.withUnsafeMutableBufferPointer { result in
                for i in 0..<half {
                    let unconditional = prediction[i], conditional = prediction[half + i]
                    result[i] = unconditional + guidanceScale * (conditional - unconditional)
                }
            }
        }
        return guided
    }

    /// Decodes final latents (NCHW) into 8-bit images: divided by the VAE's `scaling_factor`, decoded, quantised
    /// as diffusers' image processor does. (SDXL's `force_upcast` only matters for float16 VAEs; this one computes
    /// in float32.)
    func decode(_ latents: Tensor) throws -> [RGBImage] {
        var z = try latents.permuted([0, 2, 3, 1])
        let scale = vae.config.scalingFactor
        z.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] /= scale }
        }
        return try RGBImage.images(fromDecoderOutput: try vae.decode(z), layout: .nhwc)
    }

    /// The configuration's sampler on the model's scheduler configuration, or the model's own class.
    private func makeScheduler(_ configuration: GenerationConfiguration) throws -> any Scheduler {
        if let preset = configuration.scheduler {
            return try preset.make(config: schedulerConfig, steps: configuration.steps)
        }
        return try SchedulerKind(config: schedulerConfig).make(config: schedulerConfig, steps: configuration.steps)
    }
}
