import CKernels
import TensorCore

extension ScaledDotProductAttention {
    /// The memory-efficient form with bfloat16 products: `Q Kᵀ` and `P V` run on the bfloat16 GEMM micro-kernel
    /// (``BF16GEMMKernel``: inputs rounded to bfloat16, sums in fp32), while the scores, the online softmax (maxima,
    /// exponentials, row sums) and the output accumulator stay fp32.
    ///
    /// Per (batch item, head), `Kᵀ` (`[d × keys]`) is packed once into the kernel's bfloat16 panels, and `V` one key
    /// block at a time (each block an operand of its own). Per query tile, Q is packed once; per key block the
    /// scores are `scale · Q Kᵀ` (the kernel's epilogue scales them), the online softmax step turns them into
    /// weights and rescales the accumulator, and `P V` is accumulated onto it (the epilogue's `beta = 1`). The
    /// weights are rounded to bfloat16 for `P V`, so the step takes the cheaper exponential made for that
    /// (`bf16_weights`: within 6e-6 relative, against bfloat16's 2e-3).
    ///
    /// Where the CPU has AVX512-BF16, the transposed form's softmax step writes the weights as bfloat16 straight
    /// into the right operand's panels (`ck_nn_online_softmax_step_panels`), instead of over the scores for a
    /// separate packing pass to read back: the same bits, less memory traffic.
    ///
    /// `P V` is `[rows × d]`: the kernel computes whole register tiles of `mr` rows × `nr` columns, so a narrow head
    /// (d = 40 with 32-column tiles: 64 columns computed for 40) wastes much of it. Where `d` fills `mr`-row tiles
    /// better than `nr`-column ones (``sumsTransposed(headDim:kernel:)``), the sum is computed transposed,
    /// `Oᵀ = Vᵀ Pᵀ` (`[d × rows]`: Vᵀ packed as the left operand, the weights as the right one), with the same
    /// products in the same order, so the same bits either way. Vᵀ is multiplied by the form of the kernel whose
    /// tile height fits `d` best (`ck_bgemm_kernel_fitting`: on AVX512-BF16, 10 rows for d = 40 and 80, where
    /// 12-row tiles compute 48 and 84).
    static func memoryEfficientBF16(_ g: Geometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>) {
        let active = ck_bgemm_kernel_active()!
        let kernel = active.pointee, d = g.headDim
        // Vᵀ (the transposed form's left operand, d rows) gets the tile height that fits d best.
        let valuesKernel = ck_bgemm_kernel_fitting(active, Int64(d))!.pointee
        let transposed = sumsTransposed(headDim: d, kernel: valuesKernel)
        let (mr, nr) = (Int(kernel.mr), Int(kernel.nr))
        let valuesMR = Int(valuesKernel.mr)
        let evenD = (d + 1) / 2 * 2
        let keyBlocks = (g.keys + keyTile - 1) / keyTile
        // bfloat16 values per head, each rounded up to whole 64-byte lines so that every head's panels stay aligned.
        // A packed left operand takes up to 4 bytes (2 bfloat16 values) per element (ck_bgemm.h).
        let keyCount = roundedToLines((g.keys + nr - 1) / nr * nr * evenD)
        let valueBlockCount = transposed ? 2 * ((d + valuesMR - 1) / valuesMR * valuesMR) * (keyTile + 1)
                                         : (d + nr - 1) / nr * nr * keyTile
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
                    let start = block * keyTile, cols = Int64(min(keyTile, g.keys - start))
                    let source = headValues + start * g.valueStride, destination = values + block * valueBlockCount
                    if transposed {  // Vᵀ[c][j] is value j's element c
                        valuesKernel.pack_a(source, Int64(g.valueStride), 1, Int64(d), cols, destination)
                    } else {
                        ck_bgemm_pack_b(source, Int64(g.valueStride), 0, Int64(d), cols, Int32(nr), destination)
                    }
                }
            }
        }

        let tiles = (g.queries + queryTile - 1) / queryTile
        let packedQCount = (queryTile + mr - 1) / mr * mr * (d + 1)
        // The weights of one block: a left operand (up to 4 bytes each), or bfloat16 right-operand panels.
        let weightsCount = transposed ? (queryTile + nr - 1) / nr * nr * keyTile / 2 : (queryTile + mr - 1) / mr * mr * (keyTile + 1)
        let scratchCount = weightsCount + queryTile * (keyTile + d + 3) + packedQCount
        var scoresEpilogue = ck_sgemm_epilogue(alpha: scale(g), beta: 0, bias: nil)
        var accumulateEpilogue = ck_sgemm_epilogue(alpha: 1, beta: 1, bias: nil)
        ThreadPool.shared.forEachTask(g.batch * g.heads * tiles, scratchCount: scratchCount) { task, scratch in
            let (bh, tile) = task.quotientAndRemainder(dividingBy: tiles)
            let (b, h) = bh.quotientAndRemainder(dividingBy: g.heads)
            let (qh, oh) = heads(g, b: b, h: h, q: q, out: out)
            let first = tile * queryTile
            let rows = min(queryTile, g.queries - first)
            // The right-operand panels first: they must stay 64-byte aligned, as the storage is.
            let weights = scratch, scores = weights + weightsCount, accumulator = scores + rows * keyTile
            let maxima = accumulator + rows * d, sums = maxima + rows, corrections = sums + rows
            let packedQ = corrections + rows
            accumulator.initialize(repeating: 0, count: rows * d)
            maxima.initialize(repeating: -.infinity, count: rows)
            sums.initialize(repeating: 0, count: rows)
            kernel.pack_a(qh + first * g.queryStride, Int64(g.queryStride), 0, Int64(rows), Int64(d), packedQ)
            let keys = base + bh * perHead, values = keys + keyCount
            for block in 0..<keyBlocks {
                let start = block * keyTile
                let cols = min(keyTile, g.keys - start)
                let blockValues = values + block * valueBlockCount
                kernel.block(Int64(rows), Int64(cols), Int64(d), packedQ, keys + start * evenD, scores, Int64(cols), &scoresEpilogue)
                if transposed {  // accumulator: Oᵀ, [d × rows]
                    let panels = UnsafeMutableRawPointer(weights).assumingMemoryBound(to: UInt16.self)
                    if !ck_nn_online_softmax_step_panels(scores, rows, cols, cols, maxima, sums, corrections, accumulator,
                                                         d, rows, panels, Int32(nr)) {
                        ck_nn_online_softmax_step_transposed(scores, rows, cols, cols, maxima, sums, corrections,
                                                             accumulator, d, rows, true)
                        ck_bgemm_pack_b(scores, Int64(cols), 1, Int64(rows), Int64(cols), Int32(nr), panels)
                    }
                    valuesKernel.block(Int64(d), Int64(rows), Int64(cols), UnsafeRawPointer(blockValues), panels,
                                       accumulator, Int64(rows), &accumulateEpilogue)
                } else {  // accumulator: O, [rows × d]
                    ck_nn_online_softmax_step(scores, rows, cols, cols, maxima, sums, accumulator, d, d, true)
                    kernel.pack_a(scores, Int64(cols), 0, Int64(rows), Int64(cols), weights)
                    kernel.block(Int64(rows), Int64(d), Int64(cols), weights, blockValues, accumulator, Int64(d),
                                 &accumulateEpilogue)
                }
            }
            if transposed {
                ck_nn_divide_columns(accumulator, rows, sums, oh + first * g.outputStride, g.outputStride, rows, d)
            } else {
                ck_nn_divide_rows(accumulator, d, sums, oh + first * g.outputStride, g.outputStride, rows, d)
            }
        }
    }

    /// Whether the weighted sums of heads of `headDim` are computed transposed (`Oᵀ = Vᵀ Pᵀ`): when `d` rounded up
    /// to the `mr`-row register tiles of the kernel for Vᵀ is less than rounded up to its `nr`-column ones (on
    /// AVX512-BF16, 10 × 32 for d = 40 and 80, which are; SD 2 and SDXL's d = 64 is not).
    static func sumsTransposed(headDim d: Int, kernel: ck_bgemm_kernel) -> Bool {
        let (mr, nr) = (Int(kernel.mr), Int(kernel.nr))
        return (d + mr - 1) / mr * mr < (d + nr - 1) / nr * nr
    }

    /// `count` bfloat16 values rounded up to a whole number of 64-byte lines.
    private static func roundedToLines(_ count: Int) -> Int { (count + 31) / 32 * 32 }
}
