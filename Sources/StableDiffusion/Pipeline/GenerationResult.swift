import ImageFiles
import TensorCore

/// The outcome of a generation.
public struct GenerationResult {
    /// The images, ``GenerationConfiguration/imagesPerPrompt`` of them, in batch order.
    public let images: [RGBImage]
    /// The initial noise `[imagesPerPrompt, latent_channels, h, w]` (NCHW, unit variance, before the scheduler's
    /// `init_noise_sigma`): the configuration's ``GenerationConfiguration/initialLatents`` or the noise drawn from
    /// its seed. Passed back as `initialLatents` with the same other parameters, it reproduces this result exactly.
    /// Image-to-image: the noise added to the encoded init image (drawn after the image's latents; it cannot be
    /// passed back, the seed reproduces it).
    public let initialLatents: Tensor
    /// The final latents `[imagesPerPrompt, latent_channels, h, w]` (NCHW), as diffusers returns them with
    /// `output_type="latent"`.
    public let latents: Tensor
    /// The part of the prompt cut off at the text encoder's token limit (diffusers drops it with a warning); nil
    /// when the prompt fitted.
    public let truncatedPrompt: String?
    /// The same for the negative prompt.
    public let truncatedNegativePrompt: String?
    /// Seconds spent in each stage.
    public let timings: StageTimings
}
