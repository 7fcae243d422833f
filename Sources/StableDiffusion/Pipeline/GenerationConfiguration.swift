import ImageFiles
import TensorCore

/// What to generate: the parameters of diffusers' `StableDiffusionPipeline.__call__` that this package supports,
/// with diffusers' defaults. With an ``initImage`` it is image-to-image, diffusers'
/// `StableDiffusionImg2ImgPipeline.__call__` (``strength`` says how much of the image to repaint).
public struct GenerationConfiguration: Sendable {
    /// The text to depict.
    public var prompt: String
    /// The text to steer away from (nil: the empty prompt, as diffusers). Used only with guidance.
    public var negativePrompt: String?
    /// Image width in pixels, a multiple of 8 (not used with an ``initImage``: the images take its size).
    public var width = 512
    /// Image height in pixels, a multiple of 8 (not used with an ``initImage``: the images take its size).
    public var height = 512
    /// How many images to generate from the prompt, as one batch (diffusers' `num_images_per_prompt`): the
    /// prompt's embeddings are repeated and the initial latents of all images are drawn in one call.
    public var imagesPerPrompt = 1
    /// The image to start from (image-to-image, diffusers' `StableDiffusionImg2ImgPipeline` `image=`): encoded by
    /// the VAE, noised to the level of the first step taken, then denoised. Its width and height must be multiples
    /// of 8 (diffusers would resize it; this package asks for the size instead). nil: text-to-image.
    public var initImage: RGBImage?
    /// With an ``initImage``, how much of it to repaint, in (0, 1]: the generation runs the last
    /// `⌊steps · strength⌋` of the `steps` steps (diffusers' `strength`, default 0.8); 1 starts from the first.
    public var strength = 0.8
    /// Denoising steps (`num_inference_steps`), at least 1.
    public var steps = 50
    /// Classifier-free guidance scale; at most 1 runs the UNet on the prompt alone (batch 1), as diffusers.
    public var guidanceScale: Float = 7.5
    /// Seeds a ``TorchGenerator``: the initial latents and each ancestral step's noise are those of
    /// `torch.Generator().manual_seed(seed)` in diffusers on CPU.
    public var seed: UInt64 = 0
    /// The sampler; nil: the class in the model's `scheduler_config.json`, as saved.
    public var scheduler: SchedulerPreset?
    /// Initial latents `[imagesPerPrompt, latent_channels, height / s, width / s]` (NCHW, unit variance, before the
    /// scheduler's `init_noise_sigma`: diffusers' `latents=` argument), s the VAE's scale factor; nil: drawn from
    /// ``seed``. Text-to-image only.
    public var initialLatents: Tensor?

    /// The most images one generation makes (``imagesPerPrompt``): a bound on the batch's memory.
    public static let maximumImagesPerPrompt = 16

    /// A configuration for `prompt` with diffusers' defaults.
    public init(prompt: String) {
        self.prompt = prompt
    }

    /// diffusers' defaults, with an empty prompt: what each parameter is when not set.
    public static let defaults = GenerationConfiguration(prompt: "")

    /// Whether the UNet runs on an unconditional batch item as well (diffusers: guidance scale > 1).
    public var usesGuidance: Bool { guidanceScale > 1 }

    /// The largest width or height accepted (before the pipeline checks that the run fits in memory): 16 times
    /// Stable Diffusion 1.x's 512, a 1024 × 1024 latent.
    public static let maximumSide = 8192

    /// The size of the generated images: the ``initImage``'s, else ``width`` × ``height``.
    public var imageSize: (width: Int, height: Int) {
        initImage.map { ($0.width, $0.height) } ?? (width, height)
    }

    /// The steps image-to-image leaves out at the start of the schedule (diffusers' `t_start`):
    /// `steps − min(⌊steps · strength⌋, steps)`; 0 for text-to-image.
    public var skippedSteps: Int {
        guard initImage != nil else { return 0 }
        let product = Double(steps) * strength
        let kept = product.isFinite && product >= 0 ? min(Int(product.rounded(.towardZero)), steps) : 0
        return steps - kept
    }

    /// Checks what diffusers' `check_inputs` checks and what a pipeline cannot: sizes that are positive multiples of
    /// 8 up to ``maximumSide`` (the init image's too), at least one step and at most the most training timesteps any
    /// scheduler may have (100 000), a finite guidance scale, 1 to ``maximumImagesPerPrompt`` images per prompt, a
    /// strength in (0, 1] that leaves at least one step, no initial latents with an init image. (The initial
    /// latents' shape and the memory a run needs depend on the pipeline: ``StableDiffusionPipeline/validate(_:)``.)
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate() throws {
        for (name, value) in [("width", imageSize.width), ("height", imageSize.height)] {
            let parameter = initImage == nil ? name : "init image \(name)"
            guard value >= 8, value % 8 == 0 else {
                throw PipelineError.invalidParameter(name: parameter, reason: "must be a positive multiple of 8, got \(value)")
            }
            guard value <= Self.maximumSide else {
                throw PipelineError.invalidParameter(name: parameter, reason: "must be at most \(Self.maximumSide), got \(value)")
            }
        }
        guard steps >= 1 else {
            throw PipelineError.invalidParameter(name: "steps", reason: "must be at least 1, got \(steps)")
        }
        guard steps <= ConfigLimits.trainTimesteps else {
            throw PipelineError.invalidParameter(name: "steps", reason: "must be at most \(ConfigLimits.trainTimesteps), got \(steps)")
        }
        guard guidanceScale.isFinite else {
            throw PipelineError.invalidParameter(name: "guidance scale", reason: "must be a finite number, got \(guidanceScale)")
        }
        guard (1...Self.maximumImagesPerPrompt).contains(imagesPerPrompt) else {
            throw PipelineError.invalidParameter(
                name: "images per prompt", reason: "must be between 1 and \(Self.maximumImagesPerPrompt), got \(imagesPerPrompt)")
        }
        guard initImage != nil else { return }
        guard strength > 0, strength <= 1 else {
            throw PipelineError.invalidParameter(name: "strength", reason: "must be in (0, 1], got \(strength)")
        }
        guard skippedSteps < steps else {
            throw PipelineError.invalidParameter(
                name: "strength", reason: "\(strength) of \(steps) steps leaves no step to run (⌊steps · strength⌋ must be at least 1)")
        }
        guard initialLatents == nil else {
            throw PipelineError.invalidParameter(name: "initial latents", reason: "cannot be combined with an init image (its noise comes from the seed)")
        }
    }
}
