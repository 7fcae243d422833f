extension GEMM {
    /// `C = epilogue(op(A) · B)` with `B` packed as bfloat16 panels: the blocked, threaded loop around a bfloat16
    /// micro-kernel.
    ///
    /// As the fp32 driver, each task owns a block of rows × a block of columns of C and walks the `k` slices, later
    /// slices accumulating onto what earlier ones wrote; A is always packed (rounded to bfloat16 on the way), one
    /// slice of the task's rows at a time, and reused for every column panel of the task.
    static func multiplyBF16(m: Int, a: Operand, kernel: BF16GEMMKernel, packedB: UnsafePointer<UInt16>,
                             layout: PackedMatrix.Layout, c: UnsafeMutablePointer<Float>, ldc: Int,
                             epilogue: GEMMEpilogue, pool: ThreadPool) {
        let (mr, nr) = (kernel.mr, kernel.nr)
        let blocking = GEMMBlocking(m: m, n: layout.n, k: layout.k, mr: mr, nr: nr, threads: pool.threadCount)
        let rowBlocks = blocking.rowSplits.count - 1
        let deepest = layout.slices.map(\.count).max() ?? 0
        let scratchCount = kernel.packedACount(rowPanels: blocking.maxRowPanels, kc: deepest)

        let runTask = { (task: Int) in
            let (rowBlock, columnBlock) = (task % rowBlocks, task / rowBlocks)
            let rows = blocking.rowSplits[rowBlock] * mr ..< min(m, blocking.rowSplits[rowBlock + 1] * mr)
            let firstPanel = blocking.columnSplits[columnBlock]
            let columns = firstPanel * nr ..< min(layout.n, blocking.columnSplits[columnBlock + 1] * nr)
            guard !rows.isEmpty, !columns.isEmpty else { return }
            ScratchPool.shared.withBuffer(count: scratchCount) { packedA in
                for (index, depth) in layout.slices.enumerated() {
                    let sliceEpilogue = (index == 0 ? epilogue : epilogue.continuation).shifted(by: columns.lowerBound)
                    kernel.packA(a, rows: rows, depth: depth, into: packedA)
                    kernel.block(mc: rows.count, nc: columns.count, kc: depth.count, packedA: packedA,
                                 packedB: packedB + layout.offset(slice: index, panel: firstPanel),
                                 c: c + rows.lowerBound * ldc + columns.lowerBound, ldc: ldc, epilogue: sliceEpilogue)
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
