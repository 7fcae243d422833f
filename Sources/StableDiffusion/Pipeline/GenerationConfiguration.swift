import TensorCore

/// What to generate: the parameters of diffusers' `StableDiffusionPipeline.__call__` that this package supports,
/// with diffusers' defaults.
public struct GenerationConfiguration: Sendable {
    /// The text to depict.
    public var prompt: String
    /// The text to steer away from (nil: the empty prompt, as diffusers). Used only with guidance.
    public var negativePrompt: String?
    /// Image width in pixels, a multiple of 8.
    public var width = 512
    /// Image height in pixels, a multiple of 8.
    public var height = 512
    /// Denoising steps (`num_inference_steps`), at least 1.
    public var steps = 50
    /// Classifier-free guidance scale; at most 1 runs the UNet on the prompt alone (batch 1), as diffusers.
    public var guidanceScale: Float = 7.5
    /// Seeds a ``TorchGenerator``: the initial latents and each ancestral step's noise are those of
    /// `torch.Generator().manual_seed(seed)` in diffusers on CPU.
    public var seed: UInt64 = 0
    /// The sampler; nil: the class in the model's `scheduler_config.json`, as saved.
    public var scheduler: SchedulerPreset?
    /// Initial latents `[1, latent_channels, height / s, width / s]` (NCHW, unit variance, before the scheduler's
    /// `init_noise_sigma`: diffusers' `latents=` argument), s the VAE's scale factor; nil: drawn from ``seed``.
    public var initialLatents: Tensor?

    /// A configuration for `prompt` with diffusers' defaults.
    public init(prompt: String) {
        self.prompt = prompt
    }

    /// diffusers' defaults, with an empty prompt: what each parameter is when not set.
    public static let defaults = GenerationConfiguration(prompt: "")

    /// Whether the UNet runs on an unconditional batch item as well (diffusers: guidance scale > 1).
    public var usesGuidance: Bool { guidanceScale > 1 }

    /// Checks what diffusers' `check_inputs` checks and what a pipeline cannot: sizes that are positive multiples of
    /// 8, at least one step, a finite guidance scale. (The initial latents' shape depends on the pipeline:
    /// ``StableDiffusionPipeline/validate(_:)``.)
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate() throws {
        for (name, value) in [("width", width), ("height", height)] where value < 8 || value % 8 != 0 {
            throw PipelineError.invalidParameter(name: name, reason: "must be a positive multiple of 8, got \(value)")
        }
        guard steps >= 1 else {
            throw PipelineError.invalidParameter(name: "steps", reason: "must be at least 1, got \(steps)")
        }
        guard guidanceScale.isFinite else {
            throw PipelineError.invalidParameter(name: "guidance scale", reason: "must be a finite number, got \(guidanceScale)")
        }
    }
}
