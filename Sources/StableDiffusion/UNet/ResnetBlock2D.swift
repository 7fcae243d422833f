import TensorCore

/// diffusers' `ResnetBlock2D` (`time_embedding_norm` "default", SiLU): GroupNorm → SiLU → 3×3 conv → + projected
/// time embedding → GroupNorm → SiLU → 3×3 conv, plus the input (through a 1×1 `conv_shortcut` when the channel
/// count changes), divided by `output_scale_factor`.
final class ResnetBlock2D {
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeEmbeddingProjection: Linear
    let norm2: GroupNorm
    let conv2: Conv2d
    let shortcut: Conv2d?
    let outputScaleFactor: Float

    /// Whether the ResNets of UNet level `level` (its maps downsampled 2^level times) convolve by Winograd. From
    /// level 3 on (SD 1.x/2.x's last level and middle block: 8×8 maps at 512²) they run by im2col: Winograd
    /// gains little on so few tiles, and those weights are half of the UNet's (Winograd's take 16/9 as much).
    static func usesWinograd(level: Int) -> Bool { level < 3 }

    /// A block in `scope` from `inChannels` to `outChannels`, taking time embeddings of `timeEmbeddingDim`, its
    /// 3×3 convolutions by Winograd where `winograd` (``usesWinograd(level:)``).
    init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, timeEmbeddingDim: Int, groups: Int, eps: Float,
         outputScaleFactor: Float, winograd: Bool) throws {
        norm1 = try GroupNorm(scope("norm1"), groups: groups, channels: inChannels, eps: eps)
        conv1 = Conv2d(scope("conv1"), inChannels: inChannels, outChannels: outChannels, kernelSize: 3, padding: .uniform(1),
                       winograd: winograd)
        timeEmbeddingProjection = Linear(scope("time_emb_proj"), inFeatures: timeEmbeddingDim, outFeatures: outChannels)
        norm2 = try GroupNorm(scope("norm2"), groups: groups, channels: outChannels, eps: eps)
        conv2 = Conv2d(scope("conv2"), inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: .uniform(1),
                       winograd: winograd)
        shortcut = inChannels == outChannels ? nil
            : Conv2d(scope("conv_shortcut"), inChannels: inChannels, outChannels: outChannels, kernelSize: 1)
        self.outputScaleFactor = outputScaleFactor
    }

    /// Runs the block on `x` (`[B, H, W, inChannels]`) with `activatedEmbedding`, the time embedding after SiLU
    /// (`[B, timeEmbeddingDim]`; every ResNet of a UNet applies the same SiLU to the same embedding).
    func callAsFunction(_ x: Tensor, activatedEmbedding: Tensor) throws -> Tensor {
        // The time embedding's bias and the skip connection are added as the convolutions write their outputs.
        let timeBias = try timeEmbeddingProjection(activatedEmbedding)
        let hidden = try conv1(x, normalizedBy: norm1, silu: true, adding: Conv2d.Addends(imageBias: timeBias))
        var output = try conv2(hidden, normalizedBy: norm2, silu: true,
                               adding: Conv2d.Addends(residual: try shortcut?(x) ?? x))
        if outputScaleFactor != 1 { output *= 1 / outputScaleFactor }
        return output
    }
}
