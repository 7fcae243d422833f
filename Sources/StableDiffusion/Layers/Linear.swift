import CKernels
import TensorCore

/// A fully connected layer over the last dimension, `y = x Wᵀ + b`, as PyTorch's `nn.Linear` (weight `[out, in]`).
///
/// diffusers' 1×1 convolutions (Transformer2D's `proj_in` / `proj_out` without `use_linear_projection`) are the
/// same map on NHWC data; ``init(_:inFeatures:outFeatures:bias:storedAsConvolution:)`` reads their 4-D weights.
public final class Linear {
    /// The module path, for error messages.
    public let name: String
    /// Size of each input row.
    public let inFeatures: Int
    /// Size of each output row.
    public let outFeatures: Int
    /// `[outFeatures, inFeatures]`, row-major.
    let weight: Tensor
    /// `[outFeatures]`, or nil without bias.
    let bias: Tensor?

    /// A layer whose parameters are `weight` (and `bias`) in `scope`. With `storedAsConvolution` the weight is
    /// read as a 1×1 convolution's `[out, in, 1, 1]`.
    public init(_ scope: ParameterScope, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                storedAsConvolution: Bool = false) {
        name = scope.path
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let shape = storedAsConvolution ? [outFeatures, inFeatures, 1, 1] : [outFeatures, inFeatures]
        // The reshape cannot fail: both shapes have outFeatures * inFeatures elements.
        weight = (try? scope.parameter("weight", shape: shape, role: .weight(fanIn: inFeatures))
            .reshaped([outFeatures, inFeatures])) ?? Tensor(zeros: [outFeatures, inFeatures])
        self.bias = bias ? scope.parameter("bias", shape: [outFeatures], role: .bias(fanIn: inFeatures)) : nil
    }

    /// Applies the layer to the last dimension of `x` (any rank ≥ 1).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer when the last dimension is not `inFeatures`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let last = x.shape.last, last == inFeatures else {
            throw TensorError.shapeMismatch("\(name): expected input [..., \(inFeatures)], got \(x.shape)")
        }
        var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        let rows = x.count / inFeatures
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                apply(rows: rows, input: input.baseAddress!, output: output.baseAddress!, accumulate: false)
            }
        }
        return y
    }

    /// Writes `rows` rows of `input` (stride `inFeatures`) through the layer into `output` (stride `outFeatures`);
    /// with `accumulate` the result is added to what `output` holds (a fused residual connection).
    func apply(rows: Int, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, accumulate: Bool) {
        guard rows > 0 else { return }
        weight.withUnsafeBufferPointer { w in
            GEMM.sgemm(m: rows, n: outFeatures, k: inFeatures, a: input, lda: inFeatures,
                       b: w.baseAddress!, ldb: inFeatures, transB: true,
                       beta: accumulate ? 1 : 0, c: output, ldc: outFeatures)
        }
        if let bias { addRowBias(bias, rows: rows, to: output, stride: outFeatures) }
    }
}

/// Adds `bias` (one value per column) to each of `rows` rows of `matrix`.
func addRowBias(_ bias: Tensor, rows: Int, to matrix: UnsafeMutablePointer<Float>, stride: Int) {
    bias.withUnsafeBufferPointer { b in
        ThreadPool.shared.parallelChunks(rows, grain: max(1, 16384 / max(stride, 1))) { range in
            for row in range { ck_nn_add(matrix + row * stride, b.baseAddress!, matrix + row * stride, Int64(b.count)) }
        }
    }
}
