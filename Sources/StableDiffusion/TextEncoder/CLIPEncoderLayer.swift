import TensorCore

/// transformers' `CLIPEncoderLayer`, pre-LayerNorm: `x += self_attn(layer_norm1(x))`, then
/// `x += mlp(layer_norm2(x))`.
final class CLIPEncoderLayer {
    let layerNorm1: LayerNorm
    let selfAttention: CLIPAttention
    let layerNorm2: LayerNorm
    let mlp: CLIPMLP

    /// Layer `scope` (`encoder.layers.N`) of a model with `config`.
    init(_ scope: ParameterScope, config: CLIPTextConfig) {
        let dim = config.hiddenSize
        layerNorm1 = LayerNorm(scope("layer_norm1"), dim: dim, eps: config.layerNormEps)
        selfAttention = CLIPAttention(scope("self_attn"), dim: dim, heads: config.numAttentionHeads)
        layerNorm2 = LayerNorm(scope("layer_norm2"), dim: dim, eps: config.layerNormEps)
        mlp = CLIPMLP(scope("mlp"), dim: dim, intermediate: config.intermediateSize, activation: config.hiddenAct)
    }

    /// Runs the layer on `x` (`[B, L, dim]`).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var hidden = try x + (try selfAttention(try layerNorm1(x)))
        try mlp.accumulate(try layerNorm2(hidden), into: &hidden)
        return hidden
    }
}
