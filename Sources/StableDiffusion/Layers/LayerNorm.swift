import CKernels
import TensorCore

/// Layer normalisation over the last dimension with affine parameters, as PyTorch's `nn.LayerNorm`.
package final class LayerNorm {
    /// The module path, for error messages.
    package let name: String
    /// Size of the normalised (last) dimension.
    package let dim: Int
    /// Added to the variance.
    package let eps: Float
    let gamma: Tensor
    let beta: Tensor

    /// A LayerNorm whose parameters are `weight` and `bias` in `scope`.
    package init(_ scope: ParameterScope, dim: Int, eps: Float = 1e-5) {
        name = scope.path
        self.dim = dim
        self.eps = eps
        gamma = scope.parameter("weight", shape: [dim], role: .normScale)
        beta = scope.parameter("bias", shape: [dim], role: .normShift)
    }

    /// Normalises each row of `x` (`[..., dim]`).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the module when the last dimension is not `dim`.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.shape.last == dim else {
            throw TensorError.shapeMismatch("\(name): expected input [..., \(dim)], got \(x.shape)")
        }
        var y = Tensor(uninitialized: x.shape)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                gamma.withUnsafeBufferPointer { g in
                    beta.withUnsafeBufferPointer { b in
                        ThreadPool.shared.parallelRanges(x.count / dim, grain: max(1, 8192 / dim)) { rows in
                            let offset = rows.lowerBound * dim
                            ck_nn_layer_norm(input.baseAddress! + offset, output.baseAddress! + offset, rows.count,
                                             dim, g.baseAddress!, b.baseAddress!, eps)
                        }
                    }
                }
            }
        }
        return y
    }
}
