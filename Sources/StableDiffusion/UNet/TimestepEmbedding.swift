import TensorCore

/// diffusers' `TimestepEmbedding` (SiLU, no conditioning projection): `linear_2(silu(linear_1(x)))`.
final class TimestepEmbedding {
    let linear1: Linear
    let linear2: Linear

    /// An embedding in `scope` from `inFeatures` to `outFeatures`.
    init(_ scope: ParameterScope, inFeatures: Int, outFeatures: Int) {
        linear1 = Linear(scope("linear_1"), inFeatures: inFeatures, outFeatures: outFeatures)
        linear2 = Linear(scope("linear_2"), inFeatures: outFeatures, outFeatures: outFeatures)
    }

    /// Embeds `x` (`[B, inFeatures]`).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try linear2(silu(try linear1(x)))
    }
}
