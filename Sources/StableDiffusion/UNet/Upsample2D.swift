import TensorCore

/// diffusers' `Upsample2D` with a convolution (`use_conv`): nearest-neighbour upsampling (×2, or to the size of
/// the skip connection it will meet, as the UNet passes for odd latents) followed by a 3×3 convolution.
final class Upsample2D {
    let conv: Conv2d

    /// An upsampler in `scope` on `channels` channels.
    init(_ scope: ParameterScope, channels: Int) {
        conv = Conv2d(scope("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, padding: .uniform(1))
    }

    /// Upsamples `x` (`[B, H, W, channels]`) to `size` (nil: `2H × 2W`), then convolves.
    func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)?) throws -> Tensor {
        let target = size ?? (2 * x.shape[1], 2 * x.shape[2])
        return try conv(upsampleNearest(x, height: target.height, width: target.width))
    }
}
