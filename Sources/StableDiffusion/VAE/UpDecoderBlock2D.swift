import TensorCore

/// diffusers' `UpDecoderBlock2D`: ResNets (`layers_per_block + 1` of them), then a ×2 upsampler on every level
/// but the finest.
final class UpDecoderBlock2D {
    let resnets: [VAEResnetBlock]
    let upsampler: Upsample2D?

    /// Up block `scope` (`decoder.up_blocks.N`) from `inChannels` to `outChannels`.
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addUpsample: Bool) throws {
        resnets = try (0..<layers).map {
            try VAEResnetBlock(scope("resnets", $0), inChannels: $0 == 0 ? inChannels : outChannels,
                               outChannels: outChannels, groups: groups, eps: AutoencoderKL.normEps)
        }
        upsampler = addUpsample ? Upsample2D(scope("upsamplers", 0), channels: outChannels, winograd: true) : nil
    }

    /// Runs the block on `x` (`[B, H, W, inChannels]`): `[B, 2H, 2W, outChannels]` with an upsampler.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var hidden = x
        for resnet in resnets { hidden = try resnet(hidden) }
        if let upsampler { hidden = try upsampler(hidden, size: nil) }
        return hidden
    }
}
