import TensorCore

/// diffusers' `Upsample2D` with a convolution (`use_conv`): nearest-neighbour upsampling (×2, or to the size of
/// the skip connection it will meet, as the UNet passes for odd latents) followed by a 3×3 convolution. At ×2 the
/// two run as one (``Conv2d/convolveUpsampled(_:)``: 4 products per pixel instead of 9, no upsampled copy).
final class Upsample2D {
    let conv: Conv2d

    /// An upsampler in `scope` on `channels` channels, by Winograd where `winograd` (maps large enough for it to
    /// pay: ``ResnetBlock2D/usesWinograd(level:)`` of the input's level).
    convenience init(_ scope: ParameterScope, channels: Int, winograd: Bool) {
        self.init(conv: Conv2d(scope("conv"), inChannels: channels, outChannels: channels, kernelSize: 3,
                               padding: .uniform(1), followsUpsampling: true, winograd: winograd))
    }

    /// An upsampler around `conv` (3×3, padding 1).
    init(conv: Conv2d) {
        self.conv = conv
    }

    /// Upsamples `x` (`[B, H, W, channels]`) to `size` (nil: `2H × 2W`), then convolves.
    func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)?) throws -> Tensor {
        let target = size ?? (2 * x.shape[1], 2 * x.shape[2])
        if conv.upsampled != nil, x.rank == 4, target == (2 * x.shape[1], 2 * x.shape[2]) {
            return try conv.convolveUpsampled(x)
        }
        return try conv(Upsample2D.nearest(x, height: target.height, width: target.width))
    }

    /// Nearest-neighbour resize of `[B, H, W, C]` to `height` × `width`, choosing source pixels as PyTorch's
    /// `interpolate(mode="nearest")` does: `floor(dst · (in / out))` in single precision, exact halving when doubling.
    static func nearest(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (batch, inHeight, inWidth, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        func sourceIndex(_ destination: Int, _ input: Int, _ output: Int) -> Int {
            if output == 2 * input { return destination >> 1 }
            let scale = Float(input) / Float(output)
            return min(Int((Float(destination) * scale).rounded(.down)), input - 1)
        }
        let columns = (0..<width).map { sourceIndex($0, inWidth, width) }
        var y = Tensor(uninitialized: [batch, height, width, channels])
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { py in
                ThreadPool.shared.parallelRanges(batch * height, grain: 1) { range in
                    for row in range {
                        let (b, oy) = row.quotientAndRemainder(dividingBy: height)
                        let source = px.baseAddress! + (b * inHeight + sourceIndex(oy, inHeight, height)) * inWidth * channels
                        let destination = py.baseAddress! + row * width * channels
                        for (ox, ix) in columns.enumerated() {
                            (destination + ox * channels).update(from: source + ix * channels, count: channels)
                        }
                    }
                }
            }
        }
        return y
    }
}
