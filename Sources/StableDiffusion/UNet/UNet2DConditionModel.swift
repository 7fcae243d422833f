import TensorCore

/// diffusers' `UNet2DConditionModel` for the SD 1.x, SD 2.x and SDXL families, on NHWC feature maps.
///
/// Module and parameter names are diffusers' (`down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q`), so
/// weights load without a mapping (see ``load(from:precision:)``). Call it with ``callAsFunction(_:timesteps:encoderHiddenStates:textTime:)``.
/// Every ``BasicTransformerBlock`` is listed in ``transformerBlocks`` for token-reduction hooks.
public final class UNet2DConditionModel {
    /// The architecture.
    public let config: UNetConfig
    /// The attention every transformer block uses; memory-efficient unless changed.
    public var attentionImplementation: AttentionImplementation = .memoryEfficient
    /// Every transformer block, in the order a forward call runs them (down, mid, up).
    public let transformerBlocks: [BasicTransformerBlock]

    let convIn: Conv2d
    let timeProjection: Timesteps
    let timeEmbedding: TimestepEmbedding
    /// SDXL's `add_time_proj` and `add_embedding`, for `addition_embed_type` "text_time".
    let textTime: (projection: Timesteps, embedding: TimestepEmbedding)?
    let downBlocks: [DownBlock2D]
    let midBlock: UNetMidBlock2DCrossAttn?
    let upBlocks: [UpBlock2D]
    let convNormOut: GroupNorm
    let convOut: Conv2d

    /// Builds the model of `config` with parameters from `parameters`, its linear and convolution weights packed in
    /// `precision` (``Precision``; bias, norms and the rest stay fp32).
    /// - Throws: ``ConfigError`` for an invalid configuration, or the source's error (``WeightError``) listing
    ///   every missing, unexpected or mis-shaped parameter.
    package init(config: UNetConfig, parameters: ParameterSource, precision: Precision = .fp32) throws {
        try config.validate()
        self.config = config
        let root = ParameterScope(parameters, precision: precision)
        let channels = config.blockOutChannels
        let embeddingDim = config.resolvedTimeEmbeddingDim
        convIn = Conv2d(root("conv_in"), inChannels: config.inChannels, outChannels: channels[0],
                        kernelSize: config.convInKernel, padding: .uniform(config.convInKernel / 2))
        timeProjection = Timesteps(dim: channels[0], flipSinToCos: config.flipSinToCos, frequencyShift: config.freqShift)
        timeEmbedding = TimestepEmbedding(root("time_embedding"), inFeatures: channels[0], outFeatures: embeddingDim)
        textTime = config.textTimeEmbedding.map { spec in
            (Timesteps(dim: spec.timeEmbedDim, flipSinToCos: config.flipSinToCos, frequencyShift: config.freqShift),
             TimestepEmbedding(root("add_embedding"), inFeatures: spec.projectionInputDim, outFeatures: embeddingDim))
        }
        downBlocks = try channels.indices.map { index in
            try DownBlock2D(root("down_blocks", index), config: config, index: index,
                            inChannels: channels[max(index - 1, 0)])
        }
        midBlock = try config.midBlockType.map { _ in try UNetMidBlock2DCrossAttn(root("mid_block"), config: config) }
        upBlocks = try channels.indices.map { try UpBlock2D(root("up_blocks", $0), config: config, index: $0) }
        convNormOut = try GroupNorm(root("conv_norm_out"), groups: config.normNumGroups, channels: channels[0], eps: config.normEps)
        convOut = Conv2d(root("conv_out"), inChannels: channels[0], outChannels: config.outChannels,
                         kernelSize: config.convOutKernel, padding: .uniform(config.convOutKernel / 2))
        let attentions = downBlocks.flatMap(\.attentions) + (midBlock?.attentions ?? []) + upBlocks.flatMap(\.attentions)
        transformerBlocks = attentions.flatMap(\.transformerBlocks)
        try parameters.finish()
    }

    /// Builds the model of `config` with seeded random parameters (``RandomParameterSource``), packed in `precision`.
    /// - Throws: ``ConfigError`` for an invalid configuration.
    public convenience init(config: UNetConfig, seed: UInt64, precision: Precision = .fp32) throws {
        try self.init(config: config, parameters: RandomParameterSource(seed: seed), precision: precision)
    }

    /// Adds `hook` to every transformer block, after (inside) the hooks already there.
    public func appendTokenReductionHook(_ hook: any TokenReductionHook) {
        for block in transformerBlocks { block.tokenReductionHooks.append(hook) }
    }

    /// Removes from every transformer block the hooks `shouldRemove` picks; the others keep their order.
    public func removeTokenReductionHooks(where shouldRemove: (any TokenReductionHook) -> Bool) {
        for block in transformerBlocks { block.tokenReductionHooks.removeAll(where: shouldRemove) }
    }
}
