import TensorCore

/// diffusers' `BasicTransformerBlock` (`norm_type` "layer_norm"): LayerNorm → self-attention → LayerNorm →
/// cross-attention → LayerNorm → GEGLU feed-forward, each with a residual connection.
///
/// Its ``tokenReductionHooks`` are asked, per call, for plans that reduce tokens before each sub-layer and restore
/// its output before the residual connection, exactly where tomesd's patched block merges and unmerges. Several
/// hooks compose: their reductions apply in list order (the first hook's outermost), their restorations in reverse.
/// Key/value reducers (Token Downsampling) take `norm1`'s full output, in list order, and feed only the keys and
/// values of `attn1`; its queries are the (possibly merged) normalised tokens as before.
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
    /// Consulted on every call, in order; empty runs the block unchanged.
    public var tokenReductionHooks: [any TokenReductionHook] = []

    /// A block in `scope` of width `dim` with `heads` heads of `headDim`, attending to contexts of
    /// `crossAttentionDim`.
    package init(_ scope: ParameterScope, dim: Int, heads: Int, headDim: Int, crossAttentionDim: Int) {
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
        let plans = try tokenReductionHooks.map { try $0.plan(for: x, context: state.tokenContext) }
        var hidden = x
        let keyValueReducers = plans.compactMap(\.selfAttentionKeysValues)
        var keysValues: Tensor?
        hidden = try residual(hidden, plans.compactMap(\.selfAttention)) {
            try attn1($0, context: keysValues, implementation: state.attention)
        } normalised: {
            let normalised = try norm1($0)
            keysValues = try keyValueReducers.reduce(nil) { try $1.reduceKeysValues($0 ?? normalised) }
            return normalised
        }
        hidden = try residual(hidden, plans.compactMap(\.crossAttention)) {
            try attn2($0, context: context, implementation: state.attention)
        } normalised: { try norm2($0) }
        hidden = try residual(hidden, plans.compactMap(\.feedForward)) { try ff($0) } normalised: { try norm3($0) }
        return hidden
    }

    /// `x + unmerge(layer(merge(norm(x))))`: the reducers merge in order and unmerge in reverse order.
    private func residual(_ x: Tensor, _ reducers: [any TokenReducer], _ layer: (Tensor) throws -> Tensor,
                          normalised norm: (Tensor) throws -> Tensor) throws -> Tensor {
        var input = try norm(x)
        for reducer in reducers { input = try reducer.merge(input) }
        var output = try layer(input)
        for reducer in reducers.reversed() { output = try reducer.unmerge(output) }
        guard output.shape == x.shape else {
            throw TensorError.shapeMismatch("\(name): token reduction returned \(output.shape) for input \(x.shape)")
        }
        return try x + output
    }
}
