import TensorCore

/// The self-attention of the VAE's middle block (diffusers' `Attention` with `residual_connection`, built from a
/// deprecated attention block): GroupNorm over the feature map, `to_q` / `to_k` / `to_v` with bias over the
/// pixels as tokens, `to_out.0`, plus the input.
final class VAEAttention {
    let groupNorm: GroupNorm
    let toQ: Linear
    let toK: Linear
    let toV: Linear
    let toOut: Linear
    let heads: Int
    /// How the attention is computed; memory-efficient unless changed.
    var implementation = AttentionImplementation.memoryEfficient
    /// The precision of the attention products (the scope's; see ``Attention/precision``).
    let precision: Precision

    /// An attention layer in `scope` on `channels` channels with heads of `headDim` channels.
    init(_ scope: ParameterScope, channels: Int, headDim: Int, groups: Int, eps: Float) throws {
        groupNorm = try GroupNorm(scope("group_norm"), groups: groups, channels: channels, eps: eps)
        toQ = Linear(scope("to_q"), inFeatures: channels, outFeatures: channels)
        toK = Linear(scope("to_k"), inFeatures: channels, outFeatures: channels)
        toV = Linear(scope("to_v"), inFeatures: channels, outFeatures: channels)
        toOut = Linear(scope("to_out", 0), inFeatures: channels, outFeatures: channels)
        heads = channels / headDim
        precision = scope.precision
    }

    /// Attends over the pixels of `x` (`[B, H, W, C]`), whose pixels are the tokens in NHWC.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[3])
        let tokens = x.shape[1] * x.shape[2]
        let normalized = try groupNorm(x).reshaped([batch, tokens, channels])
        let q = try toQ(normalized), k = try toK(normalized), v = try toV(normalized)
        let geometry = ScaledDotProductAttention.Geometry(
            batch: batch, heads: heads, headDim: channels / heads, queries: tokens, keys: tokens,
            queryStride: channels, keyStride: channels, valueStride: channels, outputStride: channels)
        let attended = ScaledDotProductAttention.attend(q, k, v, geometry: geometry, implementation: implementation,
                                                        precision: precision)
        var output = try x.reshaped([batch, tokens, channels])
        try toOut.accumulate(attended, into: &output)
        return try output.reshaped(x.shape)
    }
}
