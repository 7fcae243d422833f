extension GEMM {
    /// `C = epilogue(op(A) · B)` for the `wanted` columns of the product (starting at a panel; column j of the
    /// product at `c[j - wanted.lowerBound]`, the bias indexed by j), with `B` already packed: the blocked, threaded
    /// loop around the micro-kernel.
    ///
    /// Each task owns a block of rows × a block of columns of C and walks the `k` slices; later slices accumulate
    /// onto what earlier ones wrote. A row-major A is read in place where the kernel can (whole `mr`-row tiles);
    /// other rows (a transposed A, the last partial tile) are packed one slice at a time into a scratch buffer.
    static func multiply(m: Int, a: Operand, kernel: GEMMKernel, packedB: UnsafePointer<Float>, layout: PackedMatrix.Layout,
                         columns wanted: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue,
                         pool: ThreadPool) {
        let (mr, nr) = (kernel.mr, kernel.nr)
        let blocking = GEMMBlocking(m: m, n: wanted.count, k: layout.k, mr: mr, nr: nr, threads: pool.availableThreads)
        let rowBlocks = blocking.rowSplits.count - 1
        // Reading A in place saves packing it, which costs as much as one pass of the kernel over a column panel.
        // With a row stride that is a multiple of 1 KiB (lda % 256 == 0, such as 1024), the twelve rows of a tile
        // share at most 4 sets of the 8-way L1 and evict each other; packing then pays off, unless there are so
        // few column panels that the packing pass would cost more than the misses.
        let columnPanels = blocking.columnSplits.last ?? 0
        let direct = kernel.readsAInPlace && !a.transposed && (a.ld % 256 != 0 || columnPanels <= 8)
        let deepest = layout.slices.map(\.count).max() ?? 0
        let scratchCount = (direct ? 1 : blocking.maxRowPanels) * mr * deepest

        let runTask = { (task: Int) in
            let (rowBlock, columnBlock) = (task % rowBlocks, task / rowBlocks)
            let rows = blocking.rowSplits[rowBlock] * mr ..< min(m, blocking.rowSplits[rowBlock + 1] * mr)
            let firstPanel = wanted.lowerBound / nr + blocking.columnSplits[columnBlock]
            let columns = firstPanel * nr ..< min(wanted.upperBound, wanted.lowerBound + blocking.columnSplits[columnBlock + 1] * nr)
            let inPlace = direct ? rows.count / mr * mr : 0
            let packed = rows.lowerBound + inPlace ..< rows.upperBound
            ScratchPool.shared.withBuffer(count: scratchCount) { packedA in
                for (index, depth) in layout.slices.enumerated() {
                    let sliceEpilogue = (index == 0 ? epilogue : epilogue.continuation).shifted(by: columns.lowerBound)
                    let panels = packedB + layout.offset(slice: index, panel: firstPanel)
                    if inPlace > 0 {
                        kernel.blockDirect(mc: inPlace, nc: columns.count, kc: depth.count,
                                           a: a.base + rows.lowerBound * a.ld + depth.lowerBound, lda: a.ld,
                                           packedB: panels, c: c + rows.lowerBound * ldc + (columns.lowerBound - wanted.lowerBound),
                                           ldc: ldc, epilogue: sliceEpilogue)
                    }
                    if !packed.isEmpty {
                        packA(a, rows: packed, depth: depth, mr: mr, into: packedA)
                        kernel.block(mc: packed.count, nc: columns.count, kc: depth.count, packedA: packedA,
                                     packedB: panels, c: c + packed.lowerBound * ldc + (columns.lowerBound - wanted.lowerBound), ldc: ldc,
                                     epilogue: sliceEpilogue)
                    }
                }
            }
        }
        if blocking.parallel {
            pool.parallelFor(blocking.taskCount, runTask)
        } else {
            for task in 0..<blocking.taskCount { runTask(task) }
        }
    }

    /// `C = beta · C + bias` for the `columns` of a product with `k == 0` (column j at `c[j - columns.lowerBound]`; no
    /// kernel call; `beta == 0` never reads C).
    static func applyEpilogueOnly(m: Int, columns: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int,
                                  epilogue: GEMMEpilogue) {
        for i in 0..<m {
            let row = c + i * ldc
            for j in columns {
                let scaled = epilogue.beta == 0 ? 0 : epilogue.beta * row[j - columns.lowerBound]
                row[j - columns.lowerBound] = scaled + (epilogue.bias?[j] ?? 0)
            }
        }
    }
}
