import TensorCore

/// diffusers' `GEGLU`: a linear layer `proj` to twice the output size whose second half gates the first through
/// GELU, `y = value · GELU(gate)`. The weight is packed once at load (``GEGLUProjection``: with bfloat16 weights
/// the GEMM gates its output as it computes it), the bias (fp32) added before the gating.
package final class GEGLU {
    /// The module path, for error messages.
    package let name: String
    let projection: GEGLUProjection
    /// `proj.bias`, `[2 · outFeatures]`.
    let bias: Tensor

    /// The layer `proj` in `scope` (`...net.0`), from `inFeatures` to `outFeatures` (the projection is twice as wide).
    package init(_ scope: ParameterScope, inFeatures: Int, outFeatures: Int) {
        let proj = scope("proj")
        name = proj.path
        projection = proj.withParameter("weight", shape: [2 * outFeatures, inFeatures],
                                        role: .weight(fanIn: inFeatures)) {
            GEGLUProjection(weight: $0.baseAddress!, inFeatures: inFeatures, inner: outFeatures, precision: scope.precision)
        }
        bias = proj.parameter("bias", shape: [2 * outFeatures], role: .bias(fanIn: inFeatures))
    }

    /// Applies the layer to `x` (`[..., inFeatures]`).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer when the last dimension is not `inFeatures`.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let last = x.shape.last, last == projection.inFeatures else {
            throw TensorError.shapeMismatch("\(name): expected input [..., \(projection.inFeatures)], got \(x.shape)")
        }
        return try projection.apply(x, bias: bias)
    }
}
