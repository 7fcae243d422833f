import TensorCore

/// diffusers' `DownBlock2D` and `CrossAttnDownBlock2D` (the latter is the former with a Transformer2D model after
/// each ResNet): ResNets, then an optional stride-2 downsampler. Every ResNet (or ResNet + Transformer2D) output
/// and the downsampled output are kept as skip connections for the up path.
final class DownBlock2D {
    let resnets: [ResnetBlock2D]
    /// One per ResNet for `CrossAttnDownBlock2D`; empty for `DownBlock2D`.
    let attentions: [Transformer2DModel]
    let downsampler: Downsample2D?

    /// Down block `index` of `config`, from `inChannels`, in `scope` (`down_blocks.<index>`).
    init(_ scope: ParameterScope, config: UNetConfig, index: Int, inChannels: Int) throws {
        let channels = config.blockOutChannels[index]
        resnets = try (0..<config.layersPerBlock[index]).map { layer in
            try ResnetBlock2D(scope("resnets", layer), inChannels: layer == 0 ? inChannels : channels, outChannels: channels,
                              timeEmbeddingDim: config.resolvedTimeEmbeddingDim, groups: config.normNumGroups,
                              eps: config.normEps, outputScaleFactor: config.resnetOutScaleFactor,
                              winograd: ResnetBlock2D.usesWinograd(level: index))
        }
        if config.downBlockTypes[index] == .crossAttention {
            attentions = try (0..<config.layersPerBlock[index]).map { layer in
                try Transformer2DModel(scope("attentions", layer), channels: channels, heads: config.attentionHeads[index],
                                       layers: config.transformerLayersPerBlock[index],
                                       crossAttentionDim: config.crossAttentionDim[index], groups: config.normNumGroups,
                                       useLinearProjection: config.useLinearProjection)
            }
        } else {
            attentions = []
        }
        let isFinal = index == config.downBlockTypes.count - 1
        downsampler = isFinal ? nil
            : Downsample2D(scope("downsamplers", 0), channels: channels, padding: config.downsamplePadding)
    }

    /// Runs the block; returns its output and the skip connections it adds.
    func callAsFunction(_ x: Tensor, embedding: Tensor, context: Tensor, state: UNetForwardState) throws
        -> (output: Tensor, skips: [Tensor]) {
        var hidden = x
        var skips: [Tensor] = []
        for (layer, resnet) in resnets.enumerated() {
            hidden = try resnet(hidden, activatedEmbedding: embedding)
            if !attentions.isEmpty { hidden = try attentions[layer](hidden, context: context, state: state) }
            skips.append(hidden)
        }
        if let downsampler {
            hidden = try downsampler(hidden)
            skips.append(hidden)
        }
        return (hidden, skips)
    }
}
