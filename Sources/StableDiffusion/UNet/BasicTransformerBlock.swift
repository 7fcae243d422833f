import TensorCore

/// diffusers' `BasicTransformerBlock` (`norm_type` "layer_norm"): LayerNorm → self-attention → LayerNorm →
/// cross-attention → LayerNorm → GEGLU feed-forward, each with a residual connection.
///
/// An optional ``tokenReductionHook`` is asked, per call, for a plan that merges tokens before each sub-layer and
/// unmerges its output before the residual connection, exactly where tomesd's patched block does.
public final class BasicTransformerBlock {
    /// The module path (`down_blocks.0.attentions.0.transformer_blocks.0`).
    public let name: String
    /// Token width.
    public let dim: Int
    let norm1: LayerNorm
    let attn1: Attention
    let norm2: LayerNorm
    let attn2: Attention
    let norm3: LayerNorm
    let ff: FeedForward
    /// Consulted on every call when set; nil runs the block unchanged.
    public var tokenReductionHook: (any TokenReductionHook)?

    /// A block in `scope` of width `dim` with `heads` heads of `headDim`, attending to contexts of
    /// `crossAttentionDim`.
    public init(_ scope: ParameterScope, dim: Int, heads: Int, headDim: Int, crossAttentionDim: Int) {
        name = scope.path
        self.dim = dim
        norm1 = LayerNorm(scope("norm1"), dim: dim)
        attn1 = Attention(scope("attn1"), queryDim: dim, heads: heads, headDim: headDim)
        norm2 = LayerNorm(scope("norm2"), dim: dim)
        attn2 = Attention(scope("attn2"), queryDim: dim, heads: heads, headDim: headDim, crossAttentionDim: crossAttentionDim)
        norm3 = LayerNorm(scope("norm3"), dim: dim)
        ff = FeedForward(scope("ff"), dim: dim, inner: 4 * dim)
    }

    /// Runs the block on `x` (`[B, N, dim]`) with cross-attention to `context` (`[B, M, crossAttentionDim]`).
    func callAsFunction(_ x: Tensor, context: Tensor, state: UNetForwardState) throws -> Tensor {
        let plan = try tokenReductionHook?.plan(for: x, context: state.tokenContext) ?? .none
        var hidden = x
        hidden = try residual(hidden, plan.selfAttention) {
            try attn1($0, implementation: state.attention)
        } normalised: { try norm1($0) }
        hidden = try residual(hidden, plan.crossAttention) {
            try attn2($0, context: context, implementation: state.attention)
        } normalised: { try norm2($0) }
        hidden = try residual(hidden, plan.feedForward) { try ff($0) } normalised: { try norm3($0) }
        return hidden
    }

    /// `x + unmerge(layer(merge(norm(x))))`, without merge and unmerge when `reducer` is nil.
    private func residual(_ x: Tensor, _ reducer: (any TokenReducer)?, _ layer: (Tensor) throws -> Tensor,
                          normalised norm: (Tensor) throws -> Tensor) throws -> Tensor {
        var input = try norm(x)
        if let reducer { input = try reducer.merge(input) }
        var output = try layer(input)
        if let reducer { output = try reducer.unmerge(output) }
        guard output.shape == x.shape else {
            throw TensorError.shapeMismatch("\(name): token reduction returned \(output.shape) for input \(x.shape)")
        }
        return try x + output
    }
}
