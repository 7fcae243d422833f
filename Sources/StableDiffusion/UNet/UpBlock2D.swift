import TensorCore

/// diffusers' `UpBlock2D` and `CrossAttnUpBlock2D` (the latter with a Transformer2D model after each ResNet):
/// each ResNet takes its input concatenated with the latest remaining skip connection; an optional upsampler
/// follows.
final class UpBlock2D {
    let resnets: [ResnetBlock2D]
    /// One per ResNet for `CrossAttnUpBlock2D`; empty for `UpBlock2D`.
    let attentions: [Transformer2DModel]
    let upsampler: Upsample2D?

    /// Up block `index` of `config` in `scope` (`up_blocks.<index>`).
    init(_ scope: ParameterScope, config: UNetConfig, index: Int) throws {
        let reversedChannels = Array(config.blockOutChannels.reversed())
        let last = reversedChannels.count - 1
        let channels = reversedChannels[index]
        let previous = reversedChannels[max(index - 1, 0)]
        let skipFromInput = reversedChannels[min(index + 1, last)]
        let down = last - index  // the down block this one mirrors
        let layers = config.layersPerBlock[down] + 1
        resnets = try (0..<layers).map { layer in
            let skip = layer == layers - 1 ? skipFromInput : channels
            return try ResnetBlock2D(scope("resnets", layer), inChannels: (layer == 0 ? previous : channels) + skip,
                                     outChannels: channels, timeEmbeddingDim: config.resolvedTimeEmbeddingDim,
                                     groups: config.normNumGroups, eps: config.normEps,
                                     outputScaleFactor: config.resnetOutScaleFactor,
                                     winograd: ResnetBlock2D.usesWinograd(level: down))
        }
        if config.upBlockTypes[index] == .crossAttention {
            attentions = try (0..<layers).map { layer in
                try Transformer2DModel(scope("attentions", layer), channels: channels, heads: config.attentionHeads[down],
                                       layers: config.transformerLayersPerBlock[down],
                                       crossAttentionDim: config.crossAttentionDim[down], groups: config.normNumGroups,
                                       useLinearProjection: config.useLinearProjection)
            }
        } else {
            attentions = []
        }
        upsampler = index == last ? nil : Upsample2D(scope("upsamplers", 0), channels: channels,
                                                     winograd: ResnetBlock2D.usesWinograd(level: down))
    }

    /// Runs the block, consuming skip connections from the end of `skips`; upsamples to `upsampleSize` when given.
    func callAsFunction(_ x: Tensor, skips: inout [Tensor], embedding: Tensor, context: Tensor,
                        upsampleSize: (height: Int, width: Int)?, state: UNetForwardState) throws -> Tensor {
        var hidden = x
        for (layer, resnet) in resnets.enumerated() {
            guard let skip = skips.popLast() else {
                throw TensorError.shapeMismatch("up block ran out of skip connections")
            }
            hidden = try resnet(try Tensor.concatenated([hidden, skip], axis: 3), activatedEmbedding: embedding)
            if !attentions.isEmpty { hidden = try attentions[layer](hidden, context: context, state: state) }
        }
        if let upsampler { hidden = try upsampler(hidden, size: upsampleSize) }
        return hidden
    }
}
