import TensorCore

/// diffusers' `DownEncoderBlock2D`: `layers_per_block` ResNets, then a ×2 downsampler (a stride-2 3×3
/// convolution after one zero row and column at the bottom and right, diffusers' `downsample_padding` 0) on every
/// level but the coarsest.
final class DownEncoderBlock2D {
    let resnets: [VAEResnetBlock]
    let downsampler: Downsample2D?

    /// Down block `scope` (`encoder.down_blocks.N`) from `inChannels` to `outChannels`.
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, layers: Int, groups: Int, addDownsample: Bool) throws {
        resnets = try (0..<layers).map {
            try VAEResnetBlock(scope("resnets", $0), inChannels: $0 == 0 ? inChannels : outChannels,
                               outChannels: outChannels, groups: groups, eps: AutoencoderKL.normEps)
        }
        downsampler = addDownsample ? Downsample2D(scope("downsamplers", 0), channels: outChannels, padding: 0) : nil
    }

    /// Runs the block on `x` (`[B, H, W, inChannels]`): `[B, H/2, W/2, outChannels]` with a downsampler.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var hidden = x
        for resnet in resnets { hidden = try resnet(hidden) }
        if let downsampler { hidden = try downsampler(hidden) }
        return hidden
    }
}
