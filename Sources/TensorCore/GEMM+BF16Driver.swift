import CKernels

extension GEMM {
    /// Where the bfloat16 driver writes its product.
    enum BF16Destination {
        /// `C = epilogue(op(A) · B)`.
        case matrix(c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue)
        /// GEGLU of the product, for a B packed with interleaved halves (``GEGLUProjection``): every `nr`-wide
        /// panel of B holds `nr/2` value columns and then their gate columns, and row `i` of `y` gets
        /// `(value + bias) · GELU(gate + bias)`, value column `j` taking `bias[j]` and its gate `bias[half + j]`.
        case gated(y: UnsafeMutablePointer<Float>, ldy: Int, bias: UnsafePointer<Float>?, half: Int)
    }

    /// The product of `op(A)` and the `wanted` columns of `B` packed as bfloat16 panels (starting at a panel),
    /// written to `destination` (column j of the product at column `j - wanted.lowerBound` there): the blocked,
    /// threaded loop around a bfloat16 micro-kernel.
    ///
    /// As the fp32 driver, each task owns a block of rows × a block of columns of C and walks the `k` slices, later
    /// slices accumulating onto what earlier ones wrote; A is always packed (rounded to bfloat16 on the way), one
    /// slice of the task's rows at a time, and reused for every column panel of the task; each task runs the form of
    /// `kernel` whose register tile fits its rows best (``BF16GEMMKernel/fitting(rows:)``). A gated product (one `k`
    /// slice) runs the kernel one panel at a time into a small tile and gates the tile while it is in L1.
    static func multiplyBF16(m: Int, a: Operand, kernel: BF16GEMMKernel, packedB: UnsafePointer<UInt16>,
                             layout: PackedMatrix.Layout, columns wanted: Range<Int>, destination: BF16Destination,
                             pool: ThreadPool) {
        let (mr, nr) = (kernel.mr, kernel.nr)
        let blocking = GEMMBlocking(m: m, n: wanted.count, k: layout.k, mr: mr, nr: nr, threads: pool.availableThreads)
        let rowBlocks = blocking.rowSplits.count - 1
        let deepest = layout.slices.map(\.count).max() ?? 0
        let packedCount = kernel.packedACount(rowPanels: blocking.maxRowPanels, kc: deepest)
        var tileCount = 0
        if case .gated = destination {
            precondition(layout.slices.count == 1 && nr % 2 == 0, "GEMM: a gated product needs one k slice")
            tileCount = blocking.maxRowPanels * mr * nr
        }

        let runTask = { (task: Int) in
            let (rowBlock, columnBlock) = (task % rowBlocks, task / rowBlocks)
            let rows = blocking.rowSplits[rowBlock] * mr ..< min(m, blocking.rowSplits[rowBlock + 1] * mr)
            let panels = wanted.lowerBound / nr + blocking.columnSplits[columnBlock]
                ..< wanted.lowerBound / nr + blocking.columnSplits[columnBlock + 1]
            let columns = panels.lowerBound * nr ..< min(wanted.upperBound, panels.upperBound * nr)
            guard !rows.isEmpty, !columns.isEmpty else { return }
            // Never more rows than in `mr`-row panels, so the packed A still fits the scratch.
            let kernel = kernel.fitting(rows: rows.count)
            ScratchPool.shared.withBuffer(count: packedCount + tileCount) { scratch in
                let packedA = scratch
                for (index, depth) in layout.slices.enumerated() {
                    kernel.packA(a, rows: rows, depth: depth, into: packedA)
                    switch destination {
                    case let .matrix(c, ldc, epilogue):
                        let sliceEpilogue = (index == 0 ? epilogue : epilogue.continuation).shifted(by: columns.lowerBound)
                        kernel.block(mc: rows.count, nc: columns.count, kc: depth.count, packedA: packedA,
                                     packedB: packedB + layout.offset(slice: index, panel: panels.lowerBound),
                                     c: c + rows.lowerBound * ldc + (columns.lowerBound - wanted.lowerBound), ldc: ldc,
                                     epilogue: sliceEpilogue)
                    case let .gated(y, ldy, bias, half):
                        let tile = scratch + packedCount, width = nr / 2
                        for panel in panels {
                            kernel.block(mc: rows.count, nc: nr, kc: depth.count, packedA: packedA,
                                         packedB: packedB + layout.offset(slice: index, panel: panel), c: tile, ldc: nr,
                                         epilogue: GEMMEpilogue(alpha: 1, beta: 0, bias: nil))
                            // Value column `panel · width` of the product (the bias's index), written relative to
                            // the first wanted one.
                            let value = panel * width, column = value - wanted.lowerBound / 2
                            ck_nn_geglu(tile, nr, rows.count, width, bias.map { $0 + value },
                                        bias.map { $0 + half + value }, y + rows.lowerBound * ldy + column, ldy)
                        }
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
}
