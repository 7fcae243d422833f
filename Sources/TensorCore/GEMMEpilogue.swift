import CKernels

/// What GEMM does with each accumulated dot product `acc[i][j]` when it writes C:
/// `C[i][j] = alpha · acc[i][j] + beta · C[i][j] + bias[j]`. With `beta == 0`, C is never read.
struct GEMMEpilogue {
    var alpha: Float
    var beta: Float
    /// Per-column bias at the block's first column, or `nil`.
    var bias: UnsafePointer<Float>?

    /// The epilogue for a later slice of a split `k` sum: accumulate onto what the earlier slices wrote.
    var continuation: GEMMEpilogue { GEMMEpilogue(alpha: alpha, beta: 1, bias: nil) }

    /// The same epilogue for a block starting `columns` to the right.
    func shifted(by columns: Int) -> GEMMEpilogue {
        GEMMEpilogue(alpha: alpha, beta: beta, bias: bias.map { $0 + columns })
    }

    /// The form the C kernels take.
    var raw: ck_sgemm_epilogue { ck_sgemm_epilogue(alpha: alpha, beta: beta, bias: bias) }
}
