/// The configuration of a ``UNet2DConditionModel``, as diffusers writes it in `config.json`.
///
/// Property names follow diffusers' keys (`block_out_channels` → ``blockOutChannels``). Fields that diffusers
/// accepts as "an int or a list" are stored expanded to one value per down block. A fresh `UNetConfig()` has
/// diffusers' defaults (the SD 1.x architecture with `cross_attention_dim` 1280); ``stableDiffusion15`` is
/// SD 1.5's. Decoding (``init(from:)``) rejects keys and values this implementation does not support, naming them.
public struct UNetConfig: Equatable, Sendable {
    /// The down block kinds (`down_block_types`).
    public enum DownBlockType: String, Equatable, Sendable, CaseIterable {
        /// ResNets interleaved with Transformer2D models, then an optional downsampler.
        case crossAttention = "CrossAttnDownBlock2D"
        /// ResNets, then an optional downsampler.
        case plain = "DownBlock2D"
    }

    /// The up block kinds (`up_block_types`).
    public enum UpBlockType: String, Equatable, Sendable, CaseIterable {
        /// ResNets on skip-concatenated inputs interleaved with Transformer2D models, then an optional upsampler.
        case crossAttention = "CrossAttnUpBlock2D"
        /// ResNets on skip-concatenated inputs, then an optional upsampler.
        case plain = "UpBlock2D"
    }

    /// The middle block kinds (`mid_block_type`).
    public enum MidBlockType: String, Equatable, Sendable, CaseIterable {
        /// ResNet, then (Transformer2D, ResNet) pairs.
        case crossAttention = "UNetMidBlock2DCrossAttn"
    }

    /// SDXL's `addition_embed_type: "text_time"`: pooled text embeddings and sinusoidally embedded `time_ids`
    /// are projected and added to the timestep embedding.
    public struct TextTimeEmbedding: Equatable, Sendable {
        /// Sinusoidal embedding size of each time id (`addition_time_embed_dim`).
        public var timeEmbedDim: Int
        /// Input size of the projection (`projection_class_embeddings_input_dim`): text embedding size plus
        /// `6 * timeEmbedDim`.
        public var projectionInputDim: Int

        /// A text-time embedding with the given sizes.
        public init(timeEmbedDim: Int, projectionInputDim: Int) {
            self.timeEmbedDim = timeEmbedDim
            self.projectionInputDim = projectionInputDim
        }

        /// Width of the 6 embedded time ids together, `6 * timeEmbedDim`.
        public var timeIDsWidth: Int { TextTimeConditioning.timeIDCount * timeEmbedDim }

        /// Width of the pooled text embeddings (`text_embeds`) the model takes: ``projectionInputDim`` minus
        /// ``timeIDsWidth`` (SDXL's second text encoder's `projection_dim`, 1280).
        public var textEmbedsWidth: Int { projectionInputDim - timeIDsWidth }
    }

    /// Channels of the input sample (`in_channels`).
    public var inChannels = 4
    /// Channels of the output sample (`out_channels`).
    public var outChannels = 4
    /// The latent size the model was trained at (`sample_size`), if given; informational.
    public var sampleSize: Int?
    /// Whether the input is mapped from [0, 1] to [-1, 1] first (`center_input_sample`).
    public var centerInputSample = false
    /// Whether sinusoidal embeddings put cosines first (`flip_sin_to_cos`).
    public var flipSinToCos = true
    /// Frequency shift of the sinusoidal embeddings (`freq_shift`).
    public var freqShift: Float = 0
    /// Down block kinds, from the highest resolution (`down_block_types`).
    public var downBlockTypes: [DownBlockType] = [.crossAttention, .crossAttention, .crossAttention, .plain]
    /// Middle block kind, or nil for none (`mid_block_type`).
    public var midBlockType: MidBlockType? = .crossAttention
    /// Up block kinds, from the lowest resolution (`up_block_types`).
    public var upBlockTypes: [UpBlockType] = [.plain, .crossAttention, .crossAttention, .crossAttention]
    /// Output channels of each down block (`block_out_channels`).
    public var blockOutChannels = [320, 640, 1280, 1280]
    /// ResNets per down block; up blocks have one more (`layers_per_block`).
    public var layersPerBlock = [2, 2, 2, 2]
    /// Padding of the downsampling convolutions (`downsample_padding`).
    public var downsamplePadding = 1
    /// Output scale of the middle block's ResNets (`mid_block_scale_factor`).
    public var midBlockScaleFactor: Float = 1
    /// Groups of every GroupNorm (`norm_num_groups`).
    public var normNumGroups = 32
    /// Epsilon of the ResNet and output GroupNorms (`norm_eps`).
    public var normEps: Float = 1e-5
    /// Size of the encoder hidden states each down block attends to (`cross_attention_dim`).
    public var crossAttentionDim = [1280, 1280, 1280, 1280]
    /// Transformer blocks per Transformer2D model, per down block (`transformer_layers_per_block`).
    public var transformerLayersPerBlock = [1, 1, 1, 1]
    /// Attention heads per down block: `num_attention_heads` when given, otherwise `attention_head_dim`, which
    /// diffusers has always used as the head count (see diffusers issue 2011).
    public var attentionHeads = [8, 8, 8, 8]
    /// Whether Transformer2D's `proj_in` / `proj_out` are linear layers rather than 1×1 convolutions
    /// (`use_linear_projection`).
    public var useLinearProjection = false
    /// Whether attention scores are computed in float32 (`upcast_attention`); every computation here is float32.
    public var upcastAttention = false
    /// Output scale of the down and up blocks' ResNets (`resnet_out_scale_factor`).
    public var resnetOutScaleFactor: Float = 1
    /// Size of the timestep embedding (`time_embedding_dim`); nil means `4 * blockOutChannels[0]`.
    public var timeEmbeddingDim: Int?
    /// Kernel size of `conv_in` (`conv_in_kernel`), odd.
    public var convInKernel = 3
    /// Kernel size of `conv_out` (`conv_out_kernel`), odd.
    public var convOutKernel = 3
    /// SDXL's additional text-time embedding (`addition_embed_type: "text_time"`), or nil.
    public var textTimeEmbedding: TextTimeEmbedding?

    /// diffusers' default configuration.
    public init() {}

    /// Stable Diffusion 1.5's UNet (860M parameters): diffusers' defaults with `cross_attention_dim` 768.
    public static var stableDiffusion15: UNetConfig {
        var config = UNetConfig()
        config.sampleSize = 64
        config.crossAttentionDim = [768, 768, 768, 768]
        return config
    }

    /// Stable Diffusion XL base's UNet (`stabilityai/stable-diffusion-xl-base-1.0`, 2.6B parameters): three levels
    /// of 320, 640 and 1280 channels, no attention at the first, 2 and 10 transformer blocks per Transformer2D at the
    /// others (and 10 in the middle), 5/10/20 heads of 64, linear projections, `cross_attention_dim` 2048 and
    /// `text_time` conditioning (256-wide time ids, 1280-wide pooled text: 2816).
    public static var stableDiffusionXL: UNetConfig {
        var config = UNetConfig()
        config.sampleSize = 128
        config.downBlockTypes = [.plain, .crossAttention, .crossAttention]
        config.upBlockTypes = [.crossAttention, .crossAttention, .plain]
        config.blockOutChannels = [320, 640, 1280]
        config.layersPerBlock = [2, 2, 2]
        config.crossAttentionDim = [2048, 2048, 2048]
        config.transformerLayersPerBlock = [1, 2, 10]
        config.attentionHeads = [5, 10, 20]
        config.useLinearProjection = true
        config.textTimeEmbedding = TextTimeEmbedding(timeEmbedDim: 256, projectionInputDim: 2816)
        return config
    }

    /// Size of the timestep embedding the ResNets receive.
    public var resolvedTimeEmbeddingDim: Int { timeEmbeddingDim ?? 4 * blockOutChannels[0] }

    /// How many times the up path doubles the resolution (one per up block but the last).
    public var upsamplerCount: Int { max(upBlockTypes.count - 1, 0) }
}
