import TensorCore

/// diffusers' `Attention` as the UNet's transformer blocks use it: `to_q`, `to_k`, `to_v` without bias, `to_out.0`
/// with bias, heads of `headDim` channels; self-attention, or cross-attention to a context of another width.
package final class Attention {
    /// The module path, for error messages.
    package let name: String
    /// Number of heads.
    package let heads: Int
    /// Channels per head.
    package let headDim: Int
    /// Width of the context tokens (the query width for self-attention).
    package let contextDim: Int
    /// The precision of the products (the scope's): with `.bf16`, memory-efficient attention computes `Q Kᵀ` and
    /// `P V` in bfloat16 with an fp32 softmax.
    let precision: Precision
    let toQ: Linear
    let toK: Linear
    let toV: Linear
    let toOut: Linear

    /// An attention layer in `scope` over tokens of `queryDim`, attending to tokens of `crossAttentionDim`
    /// (nil: self-attention).
    package init(_ scope: ParameterScope, queryDim: Int, heads: Int, headDim: Int, crossAttentionDim: Int? = nil) {
        name = scope.path
        self.heads = heads
        self.headDim = headDim
        contextDim = crossAttentionDim ?? queryDim
        precision = scope.precision
        let inner = heads * headDim
        toQ = Linear(scope("to_q"), inFeatures: queryDim, outFeatures: inner, bias: false)
        toK = Linear(scope("to_k"), inFeatures: contextDim, outFeatures: inner, bias: false)
        toV = Linear(scope("to_v"), inFeatures: contextDim, outFeatures: inner, bias: false)
        toOut = Linear(scope("to_out", 0), inFeatures: inner, outFeatures: queryDim)
    }

    /// Attends from `x` (`[B, N, queryDim]`) to `context` (`[B, M, contextDim]`; nil: to `x` itself).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer for inconsistent shapes.
    package func callAsFunction(_ x: Tensor, context: Tensor? = nil, implementation: AttentionImplementation) throws -> Tensor {
        let source = context ?? x
        guard x.rank == 3, source.rank == 3, source.shape[0] == x.shape[0], source.shape[1] >= 1 else {
            throw TensorError.shapeMismatch("\(name): expected [B, N, C] queries and [B, M, D] context, got \(x.shape) and \(source.shape)")
        }
        let q = try toQ(x), k = try toK(source), v = try toV(source)
        let inner = heads * headDim
        let geometry = ScaledDotProductAttention.Geometry(
            batch: x.shape[0], heads: heads, headDim: headDim, queries: x.shape[1], keys: source.shape[1],
            queryStride: inner, keyStride: inner, valueStride: inner, outputStride: inner)
        let attended = ScaledDotProductAttention.attend(q, k, v, geometry: geometry, implementation: implementation,
                                                        precision: precision)
        return try toOut(attended)
    }
}
