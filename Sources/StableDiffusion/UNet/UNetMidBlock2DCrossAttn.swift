import TensorCore

/// diffusers' `UNetMidBlock2DCrossAttn`: a ResNet, then a Transformer2D model and a ResNet, at the lowest
/// resolution.
final class UNetMidBlock2DCrossAttn {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]

    /// The middle block of `config` in `scope` (`mid_block`).
    init(_ scope: ParameterScope, config: UNetConfig) throws {
        let channels = config.blockOutChannels[config.blockOutChannels.count - 1]
        let last = config.downBlockTypes.count - 1
        resnets = try (0..<2).map { layer in
            try ResnetBlock2D(scope("resnets", layer), inChannels: channels, outChannels: channels,
                              timeEmbeddingDim: config.resolvedTimeEmbeddingDim, groups: config.normNumGroups,
                              eps: config.normEps, outputScaleFactor: config.midBlockScaleFactor,
                              winograd: ResnetBlock2D.usesWinograd(level: last))
        }
        attentions = [try Transformer2DModel(scope("attentions", 0), channels: channels, heads: config.attentionHeads[last],
                                             layers: config.transformerLayersPerBlock[last],
                                             crossAttentionDim: config.crossAttentionDim[last], groups: config.normNumGroups,
                                             useLinearProjection: config.useLinearProjection)]
    }

    /// Runs the block on `x`.
    func callAsFunction(_ x: Tensor, embedding: Tensor, context: Tensor, state: UNetForwardState) throws -> Tensor {
        var hidden = try resnets[0](x, activatedEmbedding: embedding)
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            hidden = try attention(hidden, context: context, state: state)
            hidden = try resnet(hidden, activatedEmbedding: embedding)
        }
        return hidden
    }
}
