import Foundation
import TensorCore

/// What ``StableDiffusionPipeline`` and ``StableDiffusionXLPipeline`` offer alike, for code that runs either
/// (`tomesd generate` picks one with ``loadTextToImagePipeline(folder:)``).
public protocol TextToImagePipeline: AnyObject {
    /// The (first) prompt tokenizer, whose limit truncates prompts.
    var tokenizer: CLIPTokenizer { get }
    /// The denoising UNet, which Token Merging patches.
    var unet: UNet2DConditionModel { get }
    /// Whether each generation drops the text encoders after encoding the prompts (reloading them next time).
    var releasesTextEncoderAfterUse: Bool { get set }
    /// The part of `prompt` a generation drops at the token limit; nil when it fits.
    func truncatedPart(of prompt: String) -> String?
    /// The width and height diffusers draws when none is given (512 for Stable Diffusion 1.x, 1024 for SDXL).
    var defaultImageSize: Int { get }
    /// The shape of the latents for `batch` images of `width` × `height`: `[batch, latent_channels, h, w]`.
    func latentShape(width: Int, height: Int, batch: Int) -> [Int]
    /// Checks a configuration against this pipeline.
    func validate(_ configuration: GenerationConfiguration) throws
    /// Runs a generation.
    func generate(_ configuration: GenerationConfiguration,
                  progress: ((GenerationProgress) -> ProgressAction)?) throws -> GenerationResult
}

extension StableDiffusionPipeline: TextToImagePipeline {}
extension StableDiffusionXLPipeline: TextToImagePipeline {}

/// Loads the diffusers folder `folder` with the pipeline its `model_index.json` names (`_class_name`):
/// ``StableDiffusionPipeline`` or ``StableDiffusionXLPipeline``.
/// - Throws: ``PipelineError`` for a missing or unsupported index; the chosen pipeline's loading errors.
public func loadTextToImagePipeline(folder: URL, precision: Precision = .fp32) throws -> any TextToImagePipeline {
    switch try ModelIndex(folder: folder).pipelineClass {
    case "StableDiffusionXLPipeline": return try StableDiffusionXLPipeline(folder: folder, precision: precision)
    default: return try StableDiffusionPipeline(folder: folder, precision: precision)
    }
}
