import TensorCore

/// Stable Diffusion XL text-to-image, as diffusers' `StableDiffusionXLPipeline` (base model, no refiner), and
/// image-to-image (``GenerationConfiguration/initImage``), as `StableDiffusionXLImg2ImgPipeline` loaded from the same
/// folder: two CLIP tokenizers and text encoders, a UNet with SDXL's `text_time` conditioning, a VAE and a
/// scheduler, loaded from a diffusers folder (``init(folder:)``).
///
/// ```swift
/// let pipeline = try StableDiffusionXLPipeline(folder: URL(fileURLWithPath: "stable-diffusion-xl-base-1.0"))
/// try applyPatch(pipeline, ratio: 0.5, maxDownsample: 2)   // Token Merging (module DiffusionPatch), optional
/// var configuration = GenerationConfiguration(prompt: "a photograph of an astronaut riding a horse")
/// (configuration.width, configuration.height, configuration.steps) = (1024, 1024, 30)
/// let result = try pipeline.generate(configuration)
/// ```
///
/// How the prompt conditions the UNet (diffusers' `encode_prompt` and `_get_add_time_ids`):
/// - both tokenizers tokenize the prompt (each pads with its own pad token: SDXL's second pads with "!"); each
///   encoder's penultimate hidden state (`hidden_states[-2]`) is taken and the two are concatenated on the channel
///   axis: `encoder_hidden_states` `[B, 77, D₁ + D₂]`;
/// - the second encoder's projected pooled output is `text_embeds` `[B, projection_dim]`;
/// - `time_ids` are (original height, width, crop top, left, target height, width) = (h, w, 0, 0, h, w), h × w
///   the generated size (the init image's for image-to-image; no aesthetic score, as SDXL base);
/// - with guidance and no negative prompt (nil, not ""), `force_zeros_for_empty_prompt` (true in SDXL's
///   `model_index.json`) makes the unconditional embeddings and pooled output zeros; otherwise the negative prompt
///   ("" when nil) is encoded the same way.
///
/// The rest — initial latents (or the encoded, noised init image), classifier-free guidance, the denoising loop
/// with any scheduler, decoding — is ``StableDiffusionPipeline``'s. A seed gives diffusers' result on CPU up to float32 rounding.
public final class StableDiffusionXLPipeline {
    /// The first prompt tokenizer (`tokenizer/`).
    public let tokenizer: CLIPTokenizer
    /// The second prompt tokenizer (`tokenizer_2/`).
    public let tokenizer2: CLIPTokenizer
    /// The denoising UNet; Token Merging patches it.
    public let unet: UNet2DConditionModel
    /// The VAE: its encoder turns init images into latents, its decoder latents into images.
    public let vae: AutoencoderKL
    /// The model's scheduler configuration (`scheduler/scheduler_config.json`; SDXL ships EulerDiscrete).
    public let schedulerConfig: SchedulerConfig
    /// Whether guidance without a negative prompt uses zero embeddings (`force_zeros_for_empty_prompt`).
    public let forceZerosForEmptyPrompt: Bool
    /// When true and the pipeline can reload its text encoders, each generation drops them once the prompts are
    /// encoded and loads them again for the next one (about 1.6 GB less during denoising for SDXL base).
    public var releasesTextEncoderAfterUse = false

    let stages: DiffusionStages
    let textEncoders: ReloadableComponent<TextEncoders>

    /// The two text encoders, loaded and released together.
    public struct TextEncoders {
        /// `text_encoder/`.
        public let first: CLIPTextModel
        /// `text_encoder_2/`.
        public let second: CLIPTextModelWithProjection

        /// The pair.
        public init(first: CLIPTextModel, second: CLIPTextModelWithProjection) {
            self.first = first
            self.second = second
        }
    }

    /// A pipeline from its components. `textEncodersLoader`, when given, rebuilds the same text encoders (for
    /// ``releasesTextEncoderAfterUse``).
    /// - Throws: ``PipelineError/incompatibleComponents(_:)`` when the components do not fit together.
    public init(tokenizer: CLIPTokenizer, tokenizer2: CLIPTokenizer, textEncoders: TextEncoders,
                unet: UNet2DConditionModel, vae: AutoencoderKL, schedulerConfig: SchedulerConfig,
                forceZerosForEmptyPrompt: Bool = true, textEncodersLoader: (() throws -> TextEncoders)? = nil) throws {
        try Self.checkCompatible(tokenizers: (tokenizer, tokenizer2), encoders: (textEncoders.first.config,
                                 textEncoders.second.config), unet: unet, vae: vae.config)
        self.tokenizer = tokenizer
        self.tokenizer2 = tokenizer2
        self.unet = unet
        self.vae = vae
        self.schedulerConfig = schedulerConfig
        self.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt
        self.textEncoders = ReloadableComponent(textEncoders, loader: textEncodersLoader)
        stages = DiffusionStages(unet: unet, vae: vae, schedulerConfig: schedulerConfig)
    }

    /// How many times smaller than the image the latents are (the VAE's, 8 for SDXL).
    public var vaeScaleFactor: Int { vae.config.scaleFactor }

    /// The width and height diffusers' SDXL pipeline draws when none is given: the UNet's `sample_size` (128 if the
    /// config has none) times ``vaeScaleFactor``, 1024 for SDXL base. ``GenerationConfiguration`` defaults to 512:
    /// set `width` and `height` to this for SDXL's native size.
    public var defaultImageSize: Int { stages.defaultImageSize(fallbackSampleSize: 128) }

    /// The part of `prompt` beyond the first tokenizer's token limit, which a generation drops as diffusers does;
    /// nil when the prompt fits.
    public func truncatedPart(of prompt: String) -> String? {
        tokenizer.truncatedText(tokenizer.encode(prompt))
    }

    private static func checkCompatible(tokenizers: (CLIPTokenizer, CLIPTokenizer),
                                        encoders: (CLIPTextConfig, CLIPTextConfig), unet: UNet2DConditionModel,
                                        vae: VAEConfig) throws {
        guard let textTime = unet.config.textTimeEmbedding else {
            throw PipelineError.incompatibleComponents(
                "the UNet has no SDXL text_time conditioning (addition_embed_type), which this pipeline provides")
        }
        guard textTime.textEmbedsWidth == encoders.1.projectionDim else {
            throw PipelineError.incompatibleComponents(
                "the UNet's projection_class_embeddings_input_dim \(textTime.projectionInputDim) is not 6 × addition_time_embed_dim "
                    + "\(textTime.timeEmbedDim) + text_encoder_2's projection_dim \(encoders.1.projectionDim)")
        }
        try PipelineCompatibility.checkLatents(unet: unet, vae: vae)
        guard !vae.hasLatentStatistics else {
            throw PipelineError.incompatibleComponents(
                "the VAE's config gives latents_mean / latents_std, which this pipeline does not apply (SDXL base has none)")
        }
        let (width1, width2) = (encoders.0.hiddenSize, encoders.1.hiddenSize)
        try PipelineCompatibility.checkContextWidth(
            unet: unet, width: width1 + width2,
            source: "the text encoders' hidden sizes together, \(width1) + \(width2) = \(width1 + width2)")
        try PipelineCompatibility.checkTokenizer(tokenizers.0, fits: encoders.0)
        try PipelineCompatibility.checkTokenizer(tokenizers.1, named: "tokenizer_2", fits: encoders.1, named: "text encoder 2")
        guard tokenizers.0.maxLength == tokenizers.1.maxLength else {
            throw PipelineError.incompatibleComponents(
                "the tokenizers make \(tokenizers.0.maxLength) and \(tokenizers.1.maxLength) tokens; their embeddings are joined token by token")
        }
    }
}
