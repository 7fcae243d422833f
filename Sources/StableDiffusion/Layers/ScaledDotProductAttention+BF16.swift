import CKernels
import TensorCore

extension ScaledDotProductAttention {
    /// The memory-efficient form with bfloat16 products: `Q Kᵀ` and `P V` run on the bfloat16 GEMM micro-kernel
    /// (``BF16GEMMKernel``: inputs rounded to bfloat16, sums in fp32), while the scores, the online softmax (maxima,
    /// exponentials, row sums) and the output accumulator stay fp32.
    ///
    /// Per (batch item, head), `Kᵀ` (`[d × keys]`) is packed once into the kernel's bfloat16 panels, and `V` one key
    /// block at a time (each block a `[keyTile × d]` operand of its own). Per query tile, Q is packed once; per key
    /// block the scores are `scale · Q Kᵀ` (the kernel's epilogue scales them), the online softmax step turns them
    /// into weights and rescales the accumulator, and `P V` is accumulated onto it (the epilogue's `beta = 1`).
    static func memoryEfficientBF16(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>) {
        let kernel = ck_bgemm_kernel_active()!.pointee
        let (mr, nr, d) = (Int(kernel.mr), Int(kernel.nr), g.headDim)
        let evenD = (d + 1) / 2 * 2
        let keyBlocks = (g.keys + keyTile - 1) / keyTile
        // bfloat16 values per head, each rounded up to whole 64-byte lines so that every head's panels stay aligned.
        let keyCount = roundedToLines((g.keys + nr - 1) / nr * nr * evenD)
        let valueBlockCount = (d + nr - 1) / nr * nr * keyTile
        let valueCount = roundedToLines(keyBlocks * valueBlockCount)
        let perHead = keyCount + valueCount
        let panels = TensorStorage(count: (g.batch * g.heads * perHead + 1) / 2, zeroed: false)
        let base = UnsafeMutableRawPointer(panels.pointer).assumingMemoryBound(to: UInt16.self)

        ThreadPool.shared.parallelRanges(g.batch * g.heads, grain: 1) { range in
            for task in range {
                let (b, h) = task.quotientAndRemainder(dividingBy: g.heads)
                let keys = base + task * perHead, values = keys + keyCount
                // Kᵀ[p][j] is key j's element p: the key rows, read transposed.
                ck_bgemm_pack_b(k + b * g.keys * g.keyStride + h * d, Int64(g.keyStride), 1, Int64(g.keys), Int64(d), Int32(nr), keys)
                let headValues = v + b * g.keys * g.valueStride + h * d
                for block in 0..<keyBlocks {
                    let start = block * keyTile
                    ck_bgemm_pack_b(headValues + start * g.valueStride, Int64(g.valueStride), 0, Int64(d),
                                    Int64(min(keyTile, g.keys - start)), Int32(nr), values + block * valueBlockCount)
                }
            }
        }

        let tiles = (g.queries + queryTile - 1) / queryTile
        let tilePanels = (queryTile + mr - 1) / mr * mr
        let packedQCount = tilePanels * (d + 1), packedPCount = tilePanels * (keyTile + 1)
        let scratchCount = queryTile * (keyTile + d + 2) + packedQCount + packedPCount
        var scoresEpilogue = ck_sgemm_epilogue(alpha: scale(g), beta: 0, bias: nil)
        var accumulateEpilogue = ck_sgemm_epilogue(alpha: 1, beta: 1, bias: nil)
        ThreadPool.shared.forEachTask(g.batch * g.heads * tiles, scratchCount: scratchCount) { task, scratch in
            let (bh, tile) = task.quotientAndRemainder(dividingBy: tiles)
            let (b, h) = bh.quotientAndRemainder(dividingBy: g.heads)
            let (qh, oh) = heads(g, b: b, h: h, q: q, out: out)
            let first = tile * queryTile
            let rows = min(queryTile, g.queries - first)
            let scores = scratch, accumulator = scratch + rows * keyTile
            let maxima = accumulator + rows * d, sums = maxima + rows
            let packedQ = sums + rows, packedP = packedQ + packedQCount
            accumulator.initialize(repeating: 0, count: rows * d)
            maxima.initialize(repeating: -.infinity, count: rows)
            sums.initialize(repeating: 0, count: rows)
            kernel.pack_a(qh + first * g.queryStride, Int64(g.queryStride), 0, Int64(rows), Int64(d), packedQ)
            let keys = base + bh * perHead, values = keys + keyCount
            for block in 0..<keyBlocks {
                let start = block * keyTile
                let cols = min(keyTile, g.keys - start)
                kernel.block(Int64(rows), Int64(cols), Int64(d), packedQ, keys + start * evenD, scores, Int64(cols), &scoresEpilogue)
                ck_nn_online_softmax_step(scores, rows, cols, cols, maxima, sums, accumulator, d, d)
                kernel.pack_a(scores, Int64(cols), 0, Int64(rows), Int64(cols), packedP)
                kernel.block(Int64(rows), Int64(d), Int64(cols), packedP, values + block * valueBlockCount, accumulator, Int64(d),
                             &accumulateEpilogue)
            }
            ck_nn_divide_rows(accumulator, d, sums, oh + first * g.outputStride, g.outputStride, rows, d)
        }
    }

    /// `count` bfloat16 values rounded up to a whole number of 64-byte lines.
    private static func roundedToLines(_ count: Int) -> Int { (count + 31) / 32 * 32 }
}
