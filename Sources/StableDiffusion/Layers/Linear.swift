import TensorCore

/// A fully connected layer over the last dimension, `y = x Wᵀ + b`, as PyTorch's `nn.Linear` (weight `[out, in]`).
///
/// The weight is packed once at load into the GEMM kernel's panel layout (``PackedMatrix``), in the scope's
/// ``ParameterScope/precision`` (fp32 or bfloat16), and the bias (fp32) is added by the GEMM epilogue. diffusers' 1×1 convolutions (Transformer2D's `proj_in` / `proj_out` without
/// `use_linear_projection`) are the same map on NHWC data; `storedAsConvolution` reads their 4-D weights.
package final class Linear {
    /// The module path, for error messages.
    package let name: String
    /// Size of each input row.
    package let inFeatures: Int
    /// Size of each output row.
    package let outFeatures: Int
    /// `Wᵀ`, `[inFeatures × outFeatures]`, packed.
    let weight: PackedMatrix
    /// `[outFeatures]`, or nil without bias.
    let bias: Tensor?

    /// A layer whose parameters are `weight` (and `bias`) in `scope`. With `storedAsConvolution` the weight is
    /// read as a 1×1 convolution's `[out, in, 1, 1]`.
    package init(_ scope: ParameterScope, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                storedAsConvolution: Bool = false) {
        name = scope.path
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let shape = storedAsConvolution ? [outFeatures, inFeatures, 1, 1] : [outFeatures, inFeatures]
        // The stored [out, in] is Wᵀ's transpose: packed as such, straight from the source's buffer.
        weight = scope.withParameter("weight", shape: shape, role: .weight(fanIn: inFeatures)) {
            PackedMatrix(k: inFeatures, n: outFeatures, b: $0.baseAddress!, ldb: max(inFeatures, 1), transposed: true,
                         precision: scope.precision)
        }
        self.bias = bias ? scope.parameter("bias", shape: [outFeatures], role: .bias(fanIn: inFeatures)) : nil
    }

    /// Applies the layer to the last dimension of `x` (any rank ≥ 1).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer when the last dimension is not `inFeatures`.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        try checkInput(x)
        return try x.matmul(weight, bias: bias)
    }

    /// `residual += layer(x)` in one pass (a linear layer followed by a residual connection).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer for an input or residual of the wrong shape.
    package func accumulate(_ x: Tensor, into residual: inout Tensor) throws {
        try checkInput(x)
        try residual.addMatmul(x, weight, bias: bias)
    }

    private func checkInput(_ x: Tensor) throws {
        guard let last = x.shape.last, last == inFeatures else {
            throw TensorError.shapeMismatch("\(name): expected input [..., \(inFeatures)], got \(x.shape)")
        }
    }
}
