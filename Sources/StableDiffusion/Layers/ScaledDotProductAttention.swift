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
/// Keys are first packed per head into 64-key panels (key element p of 64 consecutive keys contiguous), so that the
/// score kernel (a register tile of queries × keys) streams through them; values are copied per head into a
/// contiguous `[keys × d]` matrix for the weighted sum.
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
    /// Key rows per block of the memory-efficient form (a multiple of the 64-key panels).
    static let keyTile = 256

    /// Writes the attention output of `q`, `k`, `v` into `out`. With `precision` `.bf16` the memory-efficient form
    /// computes its two products in bfloat16 (``memoryEfficientBF16(_:q:k:v:out:)``); the standard form stays fp32.
    static func compute(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        out: UnsafeMutablePointer<Float>, implementation: AttentionImplementation,
                        precision: Precision = .fp32) {
        if precision == .bf16 && implementation == .memoryEfficient {
            memoryEfficientBF16(g, q: q, k: k, v: v, out: out)
            return
        }
        let panels = TensorStorage(count: g.batch * g.heads * panelFloats(g), zeroed: false)
        let values = TensorStorage(count: g.batch * g.heads * g.keys * g.headDim, zeroed: false)
        packKeysAndValues(g, k: k, v: v, panels: panels.pointer, values: values.pointer)
        switch implementation {
        case .standard: standard(g, q: q, panels: panels.pointer, values: values.pointer, out: out)
        case .memoryEfficient: memoryEfficient(g, q: q, panels: panels.pointer, values: values.pointer, out: out)
        }
    }

    static func scale(_ g: Geometry) -> Float { 1 / Float(g.headDim).squareRoot() }

    /// Floats of one head's packed keys (whole 64-key panels of `d` rows).
    private static func panelFloats(_ g: Geometry) -> Int {
        (g.keys + Int(CK_NN_KEY_PANEL) - 1) / Int(CK_NN_KEY_PANEL) * Int(CK_NN_KEY_PANEL) * g.headDim
    }

    /// The keys of every (batch item, head) in the score kernel's 64-key panels, and its values as a contiguous
    /// `[keys × d]` matrix, one head after another (each head's panels start 64-byte aligned, as the storage does
    /// and every panel is a multiple of 64 bytes). Contiguous values stream through the cache where the strided
    /// rows of one head would not.
    private static func packKeysAndValues(_ g: Geometry, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                          panels: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        let d = g.headDim
        ThreadPool.shared.parallelRanges(g.batch * g.heads, grain: 1) { range in
            for task in range {
                let (b, h) = task.quotientAndRemainder(dividingBy: g.heads)
                ck_nn_pack_keys(k + b * g.keys * g.keyStride + h * d, g.keyStride, g.keys, d, panels + task * panelFloats(g))
                let source = v + b * g.keys * g.valueStride + h * d, destination = values + task * g.keys * d
                for key in 0..<g.keys { (destination + key * d).update(from: source + key * g.valueStride, count: d) }
            }
        }
    }

    /// One (batch item, head) at a time: S = scale · Q Kᵀ, softmax rows, O = S V.
    private static func standard(_ g: Geometry, q: UnsafePointer<Float>, panels: UnsafePointer<Float>, values: UnsafePointer<Float>,
                                 out: UnsafeMutablePointer<Float>) {
        let d = g.headDim
        ThreadPool.shared.forEachTask(g.batch * g.heads, scratchCount: g.queries * g.keys) { task, scores in
            let (b, h) = task.quotientAndRemainder(dividingBy: g.heads)
            let (qh, oh) = heads(g, b: b, h: h, q: q, out: out)
            ck_nn_attention_scores(qh, g.queryStride, panels + task * panelFloats(g), scores, g.keys, g.queries, g.keys, d, scale(g))
            ck_nn_softmax_rows(scores, g.queries, g.keys, g.keys)
            for row in 0..<g.queries { (oh + row * g.outputStride).update(repeating: 0, count: d) }
            ck_nn_attention_accumulate(scores, g.keys, values + task * g.keys * d, d, oh, g.outputStride, g.queries, g.keys, d)
        }
    }

    /// One (batch item, head, query tile) per task, streaming over key blocks with an online softmax.
    private static func memoryEfficient(_ g: Geometry, q: UnsafePointer<Float>, panels: UnsafePointer<Float>,
                                        values: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let tiles = (g.queries + queryTile - 1) / queryTile
        let d = g.headDim
        ThreadPool.shared.forEachTask(g.batch * g.heads * tiles, scratchCount: queryTile * (keyTile + d + 2)) { task, scratch in
            let (bh, tile) = task.quotientAndRemainder(dividingBy: tiles)
            let (b, h) = bh.quotientAndRemainder(dividingBy: g.heads)
            let (qh, oh) = heads(g, b: b, h: h, q: q, out: out)
            let first = tile * queryTile
            let rows = min(queryTile, g.queries - first)
            let scores = scratch, accumulator = scratch + rows * keyTile
            let maxima = accumulator + rows * d, sums = maxima + rows
            accumulator.initialize(repeating: 0, count: rows * d)
            maxima.initialize(repeating: -.infinity, count: rows)
            sums.initialize(repeating: 0, count: rows)
            let headPanels = panels + bh * panelFloats(g), headValues = values + bh * g.keys * d
            var start = 0
            while start < g.keys {
                let cols = min(keyTile, g.keys - start)
                ck_nn_attention_scores(qh + first * g.queryStride, g.queryStride, headPanels + start * d, scores, cols,
                                       rows, cols, d, scale(g))
                ck_nn_online_softmax_step(scores, rows, cols, cols, maxima, sums, accumulator, d, d, false)
                ck_nn_attention_accumulate(scores, cols, headValues + start * d, d, accumulator, d, rows, cols, d)
                start += cols
            }
            ck_nn_divide_rows(accumulator, d, sums, oh + first * g.outputStride, g.outputStride, rows, d)
        }
    }

    /// The first element of head `h` of batch item `b` in Q and the output.
    static func heads(_ g: Geometry, b: Int, h: Int, q: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<Float>) -> (UnsafePointer<Float>, UnsafeMutablePointer<Float>) {
        let column = h * g.headDim
        return (q + b * g.queries * g.queryStride + column, out + b * g.queries * g.outputStride + column)
    }
}
