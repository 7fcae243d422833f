import TensorCore

/// diffusers' `Downsample2D` with a convolution (`use_conv`): a 3×3 convolution of stride 2. With `padding` 0
/// diffusers pads one zero row and column at the bottom and right first, which is the padding used here.
final class Downsample2D {
    let conv: Conv2d

    /// A downsampler in `scope` on `channels` channels.
    init(_ scope: ParameterScope, channels: Int, padding: Int) {
        let pad = padding == 0 ? Conv2d.Padding(top: 0, left: 0, bottom: 1, right: 1) : .uniform(padding)
        conv = Conv2d(scope("conv"), inChannels: channels, outChannels: channels, kernelSize: 3, stride: 2, padding: pad)
    }

    /// Halves the resolution of `x` (`[B, H, W, channels]`), rounding up.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try conv(x)
    }
}
