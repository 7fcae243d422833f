/// How one product `C[m×n] = op(A) · op(B)` is cut into cache-sized pieces and parallel tasks.
///
/// Sizes are tuned for AMD Zen 4 (`lscpu`: 32 KiB L1d and 1 MiB L2 per core, 32 MiB L3): a task's rows of A
/// (`mc × kc`, up to 144 × 768 floats = 432 KiB) stay in L2 while the kernel streams B panels past them from L2/L3,
/// and a `k` slice of at most ``maxKC`` keeps each tile of C in registers that long before it is written.
/// A task is a block of rows × a block of columns of C; the blocks are split evenly and their number is a
/// multiple of the thread count, so every thread gets the same share.
struct GEMMBlocking {
    /// Deepest `k` slice summed in one kernel call (fp32).
    static let maxKC = 768
    /// Deepest `k` slice of a bfloat16 kernel: twice as deep, for the same bytes of A and B panels in the caches
    /// (and half the passes over C of an fp32 slice).
    static let maxKCBF16 = 1536
    /// Rows of C per task (and packed A block), at most.
    static let targetMC = 144
    /// Products below this many floating-point operations run on the calling thread alone.
    /// (Variable so that tests can send tiny products through the threaded path.)
    nonisolated(unsafe) static var minParallelFlops = 1 << 21
    /// Packed B operands below this many floats are packed on the calling thread alone (variable for tests).
    nonisolated(unsafe) static var minParallelPackCount = 1 << 16

    /// Row panels (of `mr` rows) per task boundary: task row block `i` covers panels `rowSplits[i] ..< rowSplits[i+1]`.
    let rowSplits: [Int]
    /// Column panels (of `nr` columns) per task boundary, like ``rowSplits``.
    let columnSplits: [Int]
    /// Whether the tasks should be spread over the pool.
    let parallel: Bool

    /// Number of row blocks × column blocks.
    var taskCount: Int { (rowSplits.count - 1) * (columnSplits.count - 1) }
    /// Most row panels in one task (sizes the packed A scratch).
    var maxRowPanels: Int { zip(rowSplits.dropFirst(), rowSplits).map { $0 - $1 }.max() ?? 0 }

    /// Splits `k` into slices of at most `maxKC`, all of nearly the same depth.
    static func kSlices(k: Int, maxKC: Int = GEMMBlocking.maxKC) -> [Range<Int>] {
        let count = max(1, (k + maxKC - 1) / maxKC)
        return (0..<count).map { k * $0 / count ..< k * ($0 + 1) / count }
    }

    /// The blocking of an `m × n` product of depth `k` for a kernel with an `mr × nr` register tile.
    init(m: Int, n: Int, k: Int, mr: Int, nr: Int, threads: Int) {
        let rowPanels = (m + mr - 1) / mr
        let columnPanels = (n + nr - 1) / nr
        let panelsPerBlock = max(1, GEMMBlocking.targetMC / mr)
        var rowBlocks = max(1, (rowPanels + panelsPerBlock - 1) / panelsPerBlock)
        var columnBlocks = 1
        parallel = threads > 1 && 2 * m * n * k >= GEMMBlocking.minParallelFlops
        if parallel {
            if rowPanels >= 4 * threads {
                // Enough rows: give every thread the same number of row blocks.
                rowBlocks = min(rowPanels, (rowBlocks + threads - 1) / threads * threads)
            } else {
                // Few rows (a handful of tokens): split the columns between the threads instead.
                columnBlocks = min(columnPanels, threads)
            }
        }
        rowSplits = GEMMBlocking.evenSplits(rowPanels, into: rowBlocks)
        columnSplits = GEMMBlocking.evenSplits(columnPanels, into: columnBlocks)
    }

    /// Boundaries cutting `count` items into `parts` runs whose lengths differ by at most one.
    private static func evenSplits(_ count: Int, into parts: Int) -> [Int] {
        (0...parts).map { count * $0 / parts }
    }
}
