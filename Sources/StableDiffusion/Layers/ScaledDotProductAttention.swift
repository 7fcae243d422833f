import CKernels
import TensorCore

/// How attention is computed.
public enum AttentionImplementation: String, CaseIterable, Sendable {
    /// The whole `N × M` score matrix of one head at a time: scores, softmax, weighted sum.
    case standard
    /// Tiled with an online softmax (as xFormers / FlashAttention): never holds more than a tile of scores.
    case memoryEfficient = "memory-efficient"
}

/// Multi-head scaled dot-product attention, `softmax(Q Kᵀ / √d) V` per head, on row-major `[B, tokens, heads·d]`
/// matrices (head h in columns `h·d ..< (h+1)·d`); any row strides, so Q, K and V may be views into one buffer.
enum ScaledDotProductAttention {
    /// The shapes and strides of one attention call.
    struct Geometry {
        var batch: Int
        var heads: Int
        var headDim: Int
        /// Tokens per batch item in Q and the output.
        var queries: Int
        /// Tokens per batch item in K and V.
        var keys: Int
        /// Row strides of Q, K, V and the output, in elements.
        var queryStride: Int, keyStride: Int, valueStride: Int, outputStride: Int
    }

    /// Query rows per tile of the memory-efficient form.
    static let queryTile = 64
    /// Key rows per block of the memory-efficient form.
    static let keyTile = 128

    /// Writes the attention output of `q`, `k`, `v` into `out`.
    static func compute(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, implementation: AttentionImplementation) {
        switch implementation {
        case .standard: standard(g, q: q, k: k, v: v, out: out)
        case .memoryEfficient: memoryEfficient(g, q: q, k: k, v: v, out: out)
        }
    }

    private static func scale(_ g: Geometry) -> Float { 1 / Float(g.headDim).squareRoot() }

    /// One (batch item, head) at a time: S = scale · Q Kᵀ, softmax rows, O = S V.
    private static func standard(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 out: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelFor(g.batch * g.heads) { task in
            let (b, h) = task.quotientAndRemainder(dividingBy: g.heads)
            let (qh, kh, vh, oh) = heads(g, b: b, h: h, q: q, k: k, v: v, out: out)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: g.queries * g.keys)
            defer { scores.deallocate() }
            GEMM.sgemm(m: g.queries, n: g.keys, k: g.headDim, alpha: scale(g), a: qh, lda: g.queryStride,
                       b: kh, ldb: g.keyStride, transB: true, c: scores, ldc: g.keys)
            ck_nn_softmax_rows(scores, Int64(g.queries), Int64(g.keys), Int64(g.keys))
            GEMM.sgemm(m: g.queries, n: g.headDim, k: g.keys, a: scores, lda: g.keys, b: vh, ldb: g.valueStride,
                       c: oh, ldc: g.outputStride)
        }
    }

    /// One (batch item, head, query tile) per task, streaming over key blocks with an online softmax.
    private static func memoryEfficient(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                        v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let tiles = (g.queries + queryTile - 1) / queryTile
        ThreadPool.shared.parallelFor(g.batch * g.heads * tiles) { task in
            let (bh, tile) = task.quotientAndRemainder(dividingBy: tiles)
            let (b, h) = bh.quotientAndRemainder(dividingBy: g.heads)
            let (qh, kh, vh, oh) = heads(g, b: b, h: h, q: q, k: k, v: v, out: out)
            let first = tile * queryTile
            let rows = min(queryTile, g.queries - first)
            let d = g.headDim
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rows * (keyTile + d + 2))
            defer { scratch.deallocate() }
            let scores = scratch, accumulator = scratch + rows * keyTile
            let maxima = accumulator + rows * d, sums = maxima + rows
            accumulator.initialize(repeating: 0, count: rows * d)
            maxima.initialize(repeating: -.infinity, count: rows)
            sums.initialize(repeating: 0, count: rows)
            var start = 0
            while start < g.keys {
                let cols = min(keyTile, g.keys - start)
                GEMM.sgemm(m: rows, n: cols, k: d, alpha: scale(g), a: qh + first * g.queryStride, lda: g.queryStride,
                           b: kh + start * g.keyStride, ldb: g.keyStride, transB: true, c: scores, ldc: cols)
                ck_nn_online_softmax_step(scores, Int64(rows), Int64(cols), Int64(cols), maxima, sums, accumulator,
                                          Int64(d), Int64(d))
                GEMM.sgemm(m: rows, n: d, k: cols, a: scores, lda: cols, b: vh + start * g.valueStride, ldb: g.valueStride,
                           beta: 1, c: accumulator, ldc: d)
                start += cols
            }
            ck_nn_divide_rows(accumulator, Int64(d), sums, oh + first * g.outputStride, Int64(g.outputStride),
                              Int64(rows), Int64(d))
        }
    }

    /// The first element of head `h` of batch item `b` in each matrix.
    private static func heads(_ g: Geometry, b: Int, h: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                              v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>)
        -> (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) {
        let column = h * g.headDim
        return (q + b * g.queries * g.queryStride + column, k + b * g.keys * g.keyStride + column,
                v + b * g.keys * g.valueStride + column, out + b * g.queries * g.outputStride + column)
    }
}
