import CKernels
import TensorCore

/// transformers' `CLIPMLP`: `fc1` to the intermediate width, the configured activation, `fc2` back.
final class CLIPMLP {
    let fc1: Linear
    let fc2: Linear
    let activation: CLIPTextConfig.Activation

    /// An MLP in `scope` (`...mlp`) of width `dim` and hidden width `intermediate`.
    init(_ scope: ParameterScope, dim: Int, intermediate: Int, activation: CLIPTextConfig.Activation) {
        fc1 = Linear(scope("fc1"), inFeatures: dim, outFeatures: intermediate)
        fc2 = Linear(scope("fc2"), inFeatures: intermediate, outFeatures: dim)
        self.activation = activation
    }

    /// `residual += fc2(act(fc1(x)))`.
    func accumulate(_ x: Tensor, into residual: inout Tensor) throws {
        var hidden = try fc1(x)
        apply(activation, to: &hidden)
        try fc2.accumulate(hidden, into: &residual)
    }

    /// The activation in place. Quick-GELU, `x · sigmoid(1.702 x)`, is SiLU of `1.702 x` divided by 1.702.
    private func apply(_ activation: CLIPTextConfig.Activation, to x: inout Tensor) {
        let quickGELUScale: Float = 1.702
        if activation == .quickGELU { x *= quickGELUScale }
        x.withUnsafeMutableBufferPointer { values in
            let base = values.baseAddress!
            ThreadPool.shared.parallelRanges(values.count, grain: 1 << 14) { range in
                switch activation {
                case .quickGELU: ck_nn_silu(base + range.lowerBound, base + range.lowerBound, range.count)
                case .gelu: ck_nn_gelu(base + range.lowerBound, base + range.lowerBound, range.count)
                }
            }
        }
        if activation == .quickGELU { x *= 1 / quickGELUScale }
    }
}
