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
/// Keys are first transposed per head, so that the score kernel (a register tile of queries × keys) reads 16
/// consecutive keys as one vector; the weighted sum of values reads value rows as they are.
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

    /// Query rows per tile of the memory-efficient form (a multiple of the kernels' 6-row register tile).
    static let queryTile = 96
    /// Key rows per block of the memory-efficient form.
    static let keyTile = 256

    /// Writes the attention output of `q`, `k`, `v` into `out`.
    static func compute(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, implementation: AttentionImplementation) {
        let transposedKeys = UnsafeMutablePointer<Float>.allocate(capacity: max(g.batch * g.heads * g.headDim * g.keys, 1))
        defer { transposedKeys.deallocate() }
        transposeKeys(g, k: k, into: transposedKeys)
        switch implementation {
        case .standard: standard(g, q: q, kt: transposedKeys, v: v, out: out)
        case .memoryEfficient: memoryEfficient(g, q: q, kt: transposedKeys, v: v, out: out)
        }
    }

    private static func scale(_ g: Geometry) -> Float { 1 / Float(g.headDim).squareRoot() }

    /// Kᵀ of every (batch item, head): `[d × keys]` matrices, one after another, so that the score kernels read
    /// consecutive keys as one vector.
    private static func transposeKeys(_ g: Geometry, k: UnsafePointer<Float>, into kt: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelRanges(g.batch * g.heads, grain: 1) { range in
            for task in range {
                let (b, h) = task.quotientAndRemainder(dividingBy: g.heads)
                ck_transpose_f32(k + b * g.keys * g.keyStride + h * g.headDim, g.keyStride, kt + task * g.headDim * g.keys,
                                 g.keys, g.keys, g.headDim)
            }
        }
    }

    /// One (batch item, head) at a time: S = scale · Q Kᵀ, softmax rows, O = S V.
    private static func standard(_ g: Geometry, q: UnsafePointer<Float>, kt: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 out: UnsafeMutablePointer<Float>) {
        let d = g.headDim
        ThreadPool.shared.forEachTask(g.batch * g.heads, scratchCount: g.queries * g.keys) { task, scores in
            let (b, h) = task.quotientAndRemainder(dividingBy: g.heads)
            let (qh, vh, oh) = heads(g, b: b, h: h, q: q, v: v, out: out)
            ck_nn_attention_scores(qh, g.queryStride, kt + task * d * g.keys, g.keys, scores, g.keys, g.queries, g.keys, d, scale(g))
            ck_nn_softmax_rows(scores, g.queries, g.keys, g.keys)
            for row in 0..<g.queries { (oh + row * g.outputStride).update(repeating: 0, count: d) }
            ck_nn_attention_accumulate(scores, g.keys, vh, g.valueStride, oh, g.outputStride, g.queries, g.keys, d)
        }
    }

    /// One (batch item, head, query tile) per task, streaming over key blocks with an online softmax.
    private static func memoryEfficient(_ g: Geometry, q: UnsafePointer<Float>, kt: UnsafePointer<Float>,
                                        v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let tiles = (g.queries + queryTile - 1) / queryTile
        let d = g.headDim
        ThreadPool.shared.forEachTask(g.batch * g.heads * tiles, scratchCount: queryTile * (keyTile + d + 2)) { task, scratch in
            let (bh, tile) = task.quotientAndRemainder(dividingBy: tiles)
            let (b, h) = bh.quotientAndRemainder(dividingBy: g.heads)
            let (qh, vh, oh) = heads(g, b: b, h: h, q: q, v: v, out: out)
            let first = tile * queryTile
            let rows = min(queryTile, g.queries - first)
            let scores = scratch, accumulator = scratch + rows * keyTile
            let maxima = accumulator + rows * d, sums = maxima + rows
            accumulator.initialize(repeating: 0, count: rows * d)
            maxima.initialize(repeating: -.infinity, count: rows)
            sums.initialize(repeating: 0, count: rows)
            let keysTransposed = kt + bh * d * g.keys
            var start = 0
            while start < g.keys {
                let cols = min(keyTile, g.keys - start)
                ck_nn_attention_scores(qh + first * g.queryStride, g.queryStride, keysTransposed + start, g.keys, scores, cols,
                                       rows, cols, d, scale(g))
                ck_nn_online_softmax_step(scores, rows, cols, cols, maxima, sums, accumulator, d, d)
                ck_nn_attention_accumulate(scores, cols, vh + start * g.valueStride, g.valueStride, accumulator, d, rows, cols, d)
                start += cols
            }
            ck_nn_divide_rows(accumulator, d, sums, oh + first * g.outputStride, g.outputStride, rows, d)
        }
    }

    /// The first element of head `h` of batch item `b` in Q, V and the output.
    private static func heads(_ g: Geometry, b: Int, h: Int, q: UnsafePointer<Float>, v: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) {
        let column = h * g.headDim
        return (q + b * g.queries * g.queryStride + column, v + b * g.keys * g.valueStride + column,
                out + b * g.queries * g.outputStride + column)
    }
}
