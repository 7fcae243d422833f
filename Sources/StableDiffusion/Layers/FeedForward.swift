import CKernels
import TensorCore

/// diffusers' `FeedForward` with the GEGLU activation: `net.0` is GEGLU (`net.0.proj`, a linear layer to twice the
/// inner size whose second half gates the first through GELU), `net.2` the linear layer back (`net.1` is dropout).
package final class FeedForward {
    /// `ff.net.0.proj`: `dim` → `2 · inner`.
    let projection: Linear
    /// `ff.net.2`: `inner` → `dim`.
    let output: Linear
    /// The hidden size.
    package let inner: Int

    /// A feed-forward network in `scope` (`...ff`) of width `dim` and hidden size `inner` (diffusers: `4 · dim`).
    package init(_ scope: ParameterScope, dim: Int, inner: Int) {
        self.inner = inner
        projection = Linear(scope("net", 0, "proj"), inFeatures: dim, outFeatures: 2 * inner)
        output = Linear(scope("net", 2), inFeatures: inner, outFeatures: dim)
    }

    /// Applies the network to `x` (`[..., dim]`).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when the last dimension is not `dim`.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        let hidden = try projection(x)
        let rows = hidden.count / (2 * inner)
        var gated = Tensor(uninitialized: Array(hidden.shape.dropLast()) + [inner])
        hidden.withUnsafeBufferPointer { h in
            gated.withUnsafeMutableBufferPointer { g in
                ThreadPool.shared.parallelRanges(rows, grain: max(1, 4096 / inner)) { range in
                    ck_nn_geglu(h.baseAddress! + range.lowerBound * 2 * inner, g.baseAddress! + range.lowerBound * inner,
                                range.count, inner)
                }
            }
        }
        return try output(gated)
    }
}
