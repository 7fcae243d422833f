import TensorCore

/// The state after one denoising step, handed to the progress callback of
/// ``StableDiffusionPipeline/generate(_:progress:)``.
public struct GenerationProgress {
    /// Steps done (1 after the first).
    public let step: Int
    /// Steps in all (the scheduler's timesteps: `steps + 1` for PNDM, else `steps`; image-to-image runs only the
    /// last `⌊steps · strength⌋` of `steps`, plus one for PNDM).
    public let totalSteps: Int
    /// The latents after this step, `[imagesPerPrompt, latent_channels, h, w]` (NCHW).
    public let latents: Tensor
    /// Seconds since the first step began.
    public let elapsed: Double
}

/// What the progress callback wants next.
public enum ProgressAction: Sendable {
    /// Go on.
    case proceed
    /// Stop: ``StableDiffusionPipeline/generate(_:progress:)`` throws ``PipelineError/cancelled(completedSteps:totalSteps:)``.
    case cancel
}
