extension GEMM {
    /// `C = epilogue(op(A) · B)` with `B` already packed: the blocked, threaded loop around the micro-kernel.
    ///
    /// Each task packs its rows of `op(A)` one `k` slice at a time into a scratch buffer and runs the kernel over
    /// its columns of the packed B; later slices accumulate onto what earlier ones wrote.
    static func multiply(m: Int, a: Operand, packedB: UnsafePointer<Float>, layout: PackedMatrix.Layout,
                         c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, pool: ThreadPool) {
        let kernel = layout.kernel
        let (mr, nr) = (kernel.mr, kernel.nr)
        let blocking = GEMMBlocking(m: m, n: layout.n, k: layout.k, kernel: kernel, threads: pool.threadCount)
        let rowBlocks = blocking.rowSplits.count - 1
        let deepest = layout.slices.map(\.count).max() ?? 0
        let scratchCount = blocking.maxRowPanels * mr * deepest

        let runTask = { (task: Int) in
            let (rowBlock, columnBlock) = (task % rowBlocks, task / rowBlocks)
            let rows = blocking.rowSplits[rowBlock] * mr ..< min(m, blocking.rowSplits[rowBlock + 1] * mr)
            let firstPanel = blocking.columnSplits[columnBlock]
            let columns = firstPanel * nr ..< min(layout.n, blocking.columnSplits[columnBlock + 1] * nr)
            ScratchPool.shared.withBuffer(count: scratchCount) { packedA in
                for (index, depth) in layout.slices.enumerated() {
                    packA(a, rows: rows, depth: depth, mr: mr, into: packedA)
                    let sliceEpilogue = index == 0 ? epilogue : epilogue.continuation
                    kernel.block(mc: rows.count, nc: columns.count, kc: depth.count, packedA: packedA,
                                 packedB: packedB + layout.offset(slice: index, panel: firstPanel),
                                 c: c + rows.lowerBound * ldc + columns.lowerBound, ldc: ldc,
                                 epilogue: sliceEpilogue.shifted(by: columns.lowerBound))
                }
            }
        }
        if blocking.parallel {
            pool.parallelFor(blocking.taskCount, runTask)
        } else {
            for task in 0..<blocking.taskCount { runTask(task) }
        }
    }

    /// `C = beta · C + bias` for a product with `k == 0` (no kernel call; `beta == 0` never reads C).
    static func applyEpilogueOnly(m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue) {
        for i in 0..<m {
            let row = c + i * ldc
            for j in 0..<n {
                let scaled = epilogue.beta == 0 ? 0 : epilogue.beta * row[j]
                row[j] = scaled + (epilogue.bias?[j] ?? 0)
            }
        }
    }
}
