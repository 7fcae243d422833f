import TensorCore

/// diffusers' `FeedForward` with the GEGLU activation: `net.0` is GEGLU (`net.0.proj`, a linear layer to twice the
/// inner size whose second half gates the first through GELU), `net.2` the linear layer back (`net.1` is dropout).
package final class FeedForward {
    /// `ff.net.0`: `dim` → `inner` (through a `2 · inner`-wide projection).
    let geglu: GEGLU
    /// `ff.net.2`: `inner` → `dim`.
    let output: Linear
    /// The hidden size.
    package let inner: Int

    /// A feed-forward network in `scope` (`...ff`) of width `dim` and hidden size `inner` (diffusers: `4 · dim`).
    package init(_ scope: ParameterScope, dim: Int, inner: Int) {
        self.inner = inner
        geglu = GEGLU(scope("net", 0), inFeatures: dim, outFeatures: inner)
        output = Linear(scope("net", 2), inFeatures: inner, outFeatures: dim)
    }

    /// Applies the network to `x` (`[..., dim]`).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when the last dimension is not `dim`.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        try output(geglu(x))
    }
}
