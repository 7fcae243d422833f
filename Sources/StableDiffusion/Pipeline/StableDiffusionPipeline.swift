import TensorCore

/// Stable Diffusion text-to-image, as diffusers' `StableDiffusionPipeline`: a CLIP tokenizer and text encoder, a
/// UNet, a VAE decoder and a scheduler, loaded from a diffusers model folder (``init(folder:precision:)``) or built with
/// seeded random weights (``builtInDemo(seed:precision:)``).
///
/// ```swift
/// let pipeline = try StableDiffusionPipeline(folder: URL(fileURLWithPath: "stable-diffusion-v1-5"))
/// try applyPatch(pipeline, ratio: 0.5)          // Token Merging (module DiffusionPatch), optional
/// let result = try pipeline.generate(prompt: "a photograph of an astronaut riding a horse", steps: 20, seed: 42)
/// try result.images[0].writePNG(to: URL(fileURLWithPath: "astronaut.png"))
/// ```
///
/// The same pipeline does image-to-image, as diffusers' `StableDiffusionImg2ImgPipeline`
/// (``generate(prompt:image:strength:negativePrompt:steps:guidanceScale:seed:scheduler:imagesPerPrompt:progress:)``
/// or ``GenerationConfiguration/initImage``), and several images per prompt in one batch
/// (``GenerationConfiguration/imagesPerPrompt``).
///
/// A seed gives diffusers' result on CPU (`generator=torch.Generator().manual_seed(seed)`) up to float32
/// rounding: the noise comes from ``TorchGenerator``. Generation runs on ``ThreadPool/shared``; a pipeline is not
/// meant to run two generations at once.
public final class StableDiffusionPipeline {
    /// The prompt tokenizer.
    public let tokenizer: CLIPTokenizer
    /// The denoising UNet; Token Merging patches it (``unet`` is what `applyPatch(pipeline, ...)` hooks).
    public let unet: UNet2DConditionModel
    /// The VAE whose decoder turns latents into images.
    public let vae: AutoencoderKL
    /// The model's scheduler configuration (`scheduler/scheduler_config.json`).
    public let schedulerConfig: SchedulerConfig
    /// The text encoder's architecture.
    public let textEncoderConfig: CLIPTextConfig
    /// When true and the pipeline can reload its text encoder (from its folder, or the built-in demo's seed), each
    /// generation drops the text encoder once the prompts are encoded and loads it again for the next one: less
    /// memory during denoising and decoding (about 0.5 GB for SD 1.5) for a reload per generation.
    public var releasesTextEncoderAfterUse = false

    /// The shared stages: latents, guidance, the denoising loop, decoding.
    let stages: DiffusionStages
    private let textEncoder: ReloadableComponent<CLIPTextModel>

    /// A pipeline from its components. `textEncoderLoader`, when given, rebuilds the same text encoder (for
    /// ``releasesTextEncoderAfterUse``).
    /// - Throws: ``PipelineError/incompatibleComponents(_:)`` when the components do not fit together.
    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, unet: UNet2DConditionModel, vae: AutoencoderKL,
                schedulerConfig: SchedulerConfig, textEncoderLoader: (() throws -> CLIPTextModel)? = nil) throws {
        try Self.checkCompatible(tokenizer: tokenizer, textEncoder: textEncoder.config, unet: unet, vae: vae.config)
        self.tokenizer = tokenizer
        self.unet = unet
        self.vae = vae
        self.schedulerConfig = schedulerConfig
        textEncoderConfig = textEncoder.config
        self.textEncoder = ReloadableComponent(textEncoder, loader: textEncoderLoader)
        stages = DiffusionStages(unet: unet, vae: vae, schedulerConfig: schedulerConfig)
    }

    /// How many times smaller than the image the latents are (the VAE's, 8 for Stable Diffusion).
    public var vaeScaleFactor: Int { vae.config.scaleFactor }

    /// The width and height diffusers' pipeline draws when none is given: the UNet's `sample_size` (64 if the config
    /// has none) times ``vaeScaleFactor``, 512 for Stable Diffusion 1.x. ``GenerationConfiguration`` defaults to 512.
    public var defaultImageSize: Int { stages.defaultImageSize(fallbackSampleSize: 64) }

    /// The part of `prompt` beyond the text encoder's token limit (77 tokens with the start and end tokens), which
    /// a generation drops as diffusers does; nil when the prompt fits.
    public func truncatedPart(of prompt: String) -> String? {
        tokenizer.truncatedText(tokenizer.encode(prompt))
    }

    /// Tokenizes and encodes the prompt (and the negative prompt, with guidance) in one text encoder call, then
    /// drops the text encoder when ``releasesTextEncoderAfterUse`` asks.
    func encodePrompts(_ configuration: GenerationConfiguration) throws -> EncodedPrompts {
        let prompt = tokenizer.encode(configuration.prompt)
        let negative = configuration.usesGuidance ? tokenizer.encode(configuration.negativePrompt ?? "") : nil
        let ids = (negative.map { [$0.ids] } ?? []) + [prompt.ids]
        let embeddings = try textEncoder.get(name: "text encoder")(ids)
        textEncoder.release(if: releasesTextEncoderAfterUse)
        return EncodedPrompts(embeddings: embeddings, textTime: nil, guided: negative != nil,
                              truncatedPrompt: tokenizer.truncatedText(prompt),
                              truncatedNegativePrompt: negative.flatMap { tokenizer.truncatedText($0) })
    }

    private static func checkCompatible(tokenizer: CLIPTokenizer, textEncoder: CLIPTextConfig, unet: UNet2DConditionModel,
                                        vae: VAEConfig) throws {
        guard unet.config.textTimeEmbedding == nil else {
            throw PipelineError.incompatibleComponents(
                "the UNet needs SDXL's text_time conditioning (addition_embed_type), which this pipeline does not provide")
        }
        try PipelineCompatibility.checkLatents(unet: unet, vae: vae)
        try PipelineCompatibility.checkContextWidth(unet: unet, width: textEncoder.hiddenSize,
                                                    source: "the text encoder's hidden_size \(textEncoder.hiddenSize)")
        try PipelineCompatibility.checkTokenizer(tokenizer, fits: textEncoder)
    }
}
