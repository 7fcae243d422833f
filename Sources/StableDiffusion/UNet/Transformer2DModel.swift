import TensorCore

/// diffusers' `Transformer2DModel` on continuous inputs: GroupNorm (eps 1e-6) → `proj_in` → transformer blocks
/// → `proj_out`, plus the input. With NHWC feature maps the tokens `[B, H·W, C]` are a reshape, so the 1×1
/// convolution and linear forms of `proj_in` / `proj_out` are the same map (only their stored shapes differ).
final class Transformer2DModel {
    let norm: GroupNorm
    let projIn: Linear
    let transformerBlocks: [BasicTransformerBlock]
    let projOut: Linear

    /// A model in `scope` on `channels` channels, with `layers` blocks of `heads` heads of `channels / heads`
    /// (rounded down, as diffusers) attending to contexts of `crossAttentionDim`.
    init(_ scope: ParameterScope, channels: Int, heads: Int, layers: Int, crossAttentionDim: Int, groups: Int,
         useLinearProjection: Bool) throws {
        let headDim = channels / heads
        let inner = heads * headDim
        norm = try GroupNorm(scope("norm"), groups: groups, channels: channels, eps: 1e-6)
        projIn = Linear(scope("proj_in"), inFeatures: channels, outFeatures: inner, storedAsConvolution: !useLinearProjection)
        transformerBlocks = (0..<layers).map {
            BasicTransformerBlock(scope("transformer_blocks", $0), dim: inner, heads: heads, headDim: headDim,
                                  crossAttentionDim: crossAttentionDim)
        }
        projOut = Linear(scope("proj_out"), inFeatures: inner, outFeatures: channels, storedAsConvolution: !useLinearProjection)
    }

    /// Runs the model on `x` (`[B, H, W, channels]`) with cross-attention to `context`.
    func callAsFunction(_ x: Tensor, context: Tensor, state: UNetForwardState) throws -> Tensor {
        let (batch, height, width) = (x.shape[0], x.shape[1], x.shape[2])
        let tokens = [batch, height * width, x.shape[3]]
        var hidden = try projIn(try norm(x).reshaped(tokens))
        for block in transformerBlocks {
            hidden = try block(hidden, context: context, state: state)
        }
        var output = try x.reshaped(tokens)
        try projOut.accumulate(hidden, into: &output)
        return try output.reshaped(x.shape)
    }
}
