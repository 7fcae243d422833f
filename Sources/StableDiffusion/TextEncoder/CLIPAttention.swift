import CKernels
import TensorCore

/// transformers' `CLIPAttention` as the text encoder uses it: `q_proj`, `k_proj`, `v_proj`, `out_proj`, all with
/// bias, and a causal mask (token i attends to tokens 0...i).
final class CLIPAttention {
    let name: String
    let heads: Int
    let headDim: Int
    let queryProjection: Linear
    let keyProjection: Linear
    let valueProjection: Linear
    let outputProjection: Linear

    /// An attention layer in `scope` (`...self_attn`) over tokens of `dim` channels split into `heads` heads.
    init(_ scope: ParameterScope, dim: Int, heads: Int) {
        name = scope.path
        self.heads = heads
        headDim = dim / heads
        queryProjection = Linear(scope("q_proj"), inFeatures: dim, outFeatures: dim)
        keyProjection = Linear(scope("k_proj"), inFeatures: dim, outFeatures: dim)
        valueProjection = Linear(scope("v_proj"), inFeatures: dim, outFeatures: dim)
        outputProjection = Linear(scope("out_proj"), inFeatures: dim, outFeatures: dim)
    }

    /// Causal self-attention over `x` (`[B, L, dim]`).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let q = try queryProjection(x), k = try keyProjection(x), v = try valueProjection(x)
        let (batch, length) = (x.shape[0], x.shape[1])
        let attended = ScaledDotProductAttention.attend(q, k, v) {
            causalAttention(batch: batch, length: length, q: $0, k: $1, v: $2, out: $3)
        }
        return try outputProjection(attended)
    }

    /// Per (batch item, head): S = Q Kᵀ / √d, each row i a softmax over columns 0...i and zero after, O = S V.
    /// Q, K, V and O are `[B, L, heads · headDim]`, head h in columns `h · headDim ..< (h + 1) · headDim`.
    private func causalAttention(batch: Int, length: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                 v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let (d, width) = (headDim, heads * headDim)
        let scale = 1 / Float(d).squareRoot()
        ThreadPool.shared.forEachTask(batch * heads, scratchCount: length * length) { task, scores in
            let (b, h) = task.quotientAndRemainder(dividingBy: heads)
            let offset = b * length * width + h * d
            GEMM.sgemm(m: length, n: length, k: d, alpha: scale, a: q + offset, lda: width, b: k + offset, ldb: width,
                       transB: true, c: scores, ldc: length)
            for row in 0..<length {
                let scoreRow = scores + row * length
                ck_nn_softmax_rows(scoreRow, 1, row + 1, length)
                (scoreRow + row + 1).update(repeating: 0, count: length - row - 1)
            }
            GEMM.sgemm(m: length, n: d, k: length, a: scores, lda: length, b: v + offset, ldb: width,
                       c: out + offset, ldc: width)
        }
    }
}
