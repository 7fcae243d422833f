import TensorCore

/// diffusers' `ResnetBlock2D` as the VAE uses it (no time embedding, `output_scale_factor` 1): GroupNorm → SiLU →
/// 3×3 conv → GroupNorm → SiLU → 3×3 conv, plus the input (through a 1×1 `conv_shortcut` when the channel count
/// changes).
final class VAEResnetBlock {
    let norm1: GroupNorm
    let conv1: Conv2d
    let norm2: GroupNorm
    let conv2: Conv2d
    let shortcut: Conv2d?

    /// A block in `scope` from `inChannels` to `outChannels`.
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, groups: Int, eps: Float) throws {
        norm1 = try GroupNorm(scope("norm1"), groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(scope("conv1"), inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: .uniform(1))
        norm2 = try GroupNorm(scope("norm2"), groups: groups, channels: outChannels, eps: eps)
        conv2 = Conv2d(scope("conv2"), inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: .uniform(1))
        shortcut = inChannels == outChannels ? nil
            : Conv2d(scope("conv_shortcut"), inChannels: inChannels, outChannels: outChannels, kernelSize: 1)
    }

    /// Runs the block on `x` (`[B, H, W, inChannels]`).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let hidden = try conv1(x, normalizedBy: norm1, silu: true)
        // In place: at 512² each map the decoder does not allocate is 128–256 MB of fresh memory it does not touch.
        guard let shortcut else {
            return try conv2(hidden, normalizedBy: norm2, silu: true, adding: Conv2d.Addends(residual: x))
        }
        var output = try conv2(hidden, normalizedBy: norm2, silu: true)
        try shortcut.add(x, to: &output)
        return output
    }
}
