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

    private var loadedTextEncoder: CLIPTextModel?
    private let textEncoderLoader: (() throws -> CLIPTextModel)?

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
        loadedTextEncoder = textEncoder
        self.textEncoderLoader = textEncoderLoader
    }

    /// How many times smaller than the image the latents are (the VAE's, 8 for Stable Diffusion).
    public var vaeScaleFactor: Int { vae.config.scaleFactor }

    /// The part of `prompt` beyond the text encoder's token limit (77 tokens with the start and end tokens), which
    /// a generation drops as diffusers does; nil when the prompt fits.
    public func truncatedPart(of prompt: String) -> String? {
        tokenizer.truncatedText(tokenizer.encode(prompt))
    }

    /// The text encoder, loading it again if it was released.
    func textEncoder() throws -> CLIPTextModel {
        if let loadedTextEncoder { return loadedTextEncoder }
        guard let textEncoderLoader else {
            throw PipelineError.incompatibleComponents("the text encoder was released and cannot be reloaded")
        }
        let model = try textEncoderLoader()
        loadedTextEncoder = model
        return model
    }

    /// Drops the text encoder when ``releasesTextEncoderAfterUse`` is set and it can be reloaded.
    func releaseTextEncoderIfAsked() {
        if releasesTextEncoderAfterUse && textEncoderLoader != nil { loadedTextEncoder = nil }
    }

    private static func checkCompatible(tokenizer: CLIPTokenizer, textEncoder: CLIPTextConfig, unet: UNet2DConditionModel,
                                        vae: VAEConfig) throws {
        guard unet.config.textTimeEmbedding == nil else {
            throw PipelineError.incompatibleComponents(
                "the UNet needs SDXL's text_time conditioning (addition_embed_type), which this pipeline does not provide")
        }
        guard unet.config.inChannels == vae.latentChannels, unet.config.outChannels == vae.latentChannels else {
            throw PipelineError.incompatibleComponents(
                "the UNet takes \(unet.config.inChannels) and returns \(unet.config.outChannels) channels, the VAE's latents have \(vae.latentChannels)")
        }
        let contextWidths = Set(unet.transformerBlocks.map(\.attn2.contextDim))
        guard contextWidths.allSatisfy({ $0 == textEncoder.hiddenSize }) else {
            throw PipelineError.incompatibleComponents(
                "the UNet's cross_attention_dim \(contextWidths.sorted()) differs from the text encoder's hidden_size \(textEncoder.hiddenSize)")
        }
        guard tokenizer.maxLength <= textEncoder.maxPositionEmbeddings else {
            throw PipelineError.incompatibleComponents(
                "the tokenizer makes \(tokenizer.maxLength) tokens, the text encoder takes at most \(textEncoder.maxPositionEmbeddings)")
        }
        let largestID = max(tokenizer.startTokenID, tokenizer.endTokenID, tokenizer.padTokenID)
        guard largestID < textEncoder.vocabSize else {
            throw PipelineError.incompatibleComponents(
                "the tokenizer's special token id \(largestID) is outside the text encoder's vocabulary of \(textEncoder.vocabSize)")
        }
    }
}
