/// Single-precision matrix multiplication on raw, row-major memory:
/// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C + bias`.
///
/// `op(X)` is `X` or its transpose; `lda`, `ldb`, `ldc` are the row strides (in elements) of the matrices as stored.
/// The optional `bias` (`n` floats) is added to every row of C as the result is written (the fused epilogue of a
/// linear layer); `beta = 1` accumulates onto C (a residual add). With `beta == 0`, C is only written, never read.
///
/// The work runs on the SIMD micro-kernel ``GEMMKernel/active`` with B packed into panels (see ``PackedMatrix``
/// to pack a weight once and reuse it), A packed block by block, and tasks spread over `pool`.
public enum GEMM {
    /// Computes `C = alpha · op(A) · op(B) + beta · C + bias`.
    ///
    /// - Parameters:
    ///   - transA: `A` is stored as `[k×m]` and used transposed.
    ///   - transB: `B` is stored as `[n×k]` and used transposed (the PyTorch `Linear` weight layout).
    ///   - bias: `n` floats added to every row of C, or `nil`.
    ///   - pool: threads to spread the work over.
    /// - Precondition: the sizes are not negative and each leading dimension is at least its matrix's stored
    ///   width (at least 1); the pointers cover the matrices. Callers validate user-supplied shapes first.
    public static func sgemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        bias: UnsafePointer<Float>? = nil,
        pool: ThreadPool = .shared
    ) {
        checkOperand(rows: transB ? n : k, columns: transB ? k : n, ld: ldb, name: "b")
        let layout = PackedMatrix.Layout(k: k, n: n, variant: .fp32(.active))
        ScratchPool.shared.withBuffer(count: layout.count) { packedB in
            packB(Operand(base: b, ld: ldb, transposed: transB), layout: layout, into: packedB, pool: pool)
            multiply(m: m, alpha: alpha, a: a, lda: lda, transA: transA, packedB: packedB, layout: layout,
                     columns: 0 ..< n, beta: beta, c: c, ldc: ldc, bias: bias, pool: pool)
        }
    }

    /// Computes `C = alpha · op(A) · B + beta · C + bias` with `B` (`[k×n]`) packed in advance. A bfloat16 `B`
    /// runs a bfloat16 kernel: A is rounded to bfloat16 as it is packed, the sums are fp32 (``BF16GEMMKernel``).
    ///
    /// - Parameters:
    ///   - transA: `A` is stored as `[k×m]` and used transposed.
    ///   - columns: the columns of the product to compute, or `nil` for all `b.n`: a range that starts at a
    ///     multiple of `b.columnTile` (whole panels of B), as a convolution splitting its output channels between
    ///     threads uses. Column j goes to `c[i·ldc + j - columns.lowerBound]` (`ldc ≥ columns.count`); the bias is
    ///     still indexed by j.
    ///   - bias: `b.n` floats added to every row of C, or `nil`.
    /// - Precondition: as for the unpacked form, with `n = b.n` and `k = b.k`.
    public static func sgemm(
        m: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: PackedMatrix, columns: Range<Int>? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        bias: UnsafePointer<Float>? = nil,
        pool: ThreadPool = .shared
    ) {
        let columns = columns ?? 0 ..< b.n
        precondition(columns.lowerBound % b.columnTile == 0 && columns.upperBound <= b.n,
                     "GEMM: columns \(columns) are not whole panels of \(b.columnTile) of B's \(b.n)")
        multiply(m: m, alpha: alpha, a: a, lda: lda, transA: transA, packedB: b.storage.pointer, layout: b.layout,
                 columns: columns, beta: beta, c: c, ldc: ldc, bias: bias, pool: pool)
    }

    /// Checks the operands, handles the empty cases and runs the driver of the layout's variant on `columns`.
    private static func multiply(m: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                                 packedB: UnsafePointer<Float>, layout: PackedMatrix.Layout, columns: Range<Int>,
                                 beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                                 bias: UnsafePointer<Float>?, pool: ThreadPool) {
        let k = layout.k
        precondition(m >= 0, "GEMM: m must not be negative, got \(m)")
        checkOperand(rows: transA ? k : m, columns: transA ? m : k, ld: lda, name: "a")
        checkOperand(rows: m, columns: columns.count, ld: ldc, name: "c")
        if m == 0 || columns.isEmpty { return }
        let epilogue = GEMMEpilogue(alpha: alpha, beta: beta, bias: bias)
        if k == 0 {
            applyEpilogueOnly(m: m, columns: columns, c: c, ldc: ldc, epilogue: epilogue)
            return
        }
        let operand = Operand(base: a, ld: lda, transposed: transA)
        switch layout.variant {
        case .fp32(let kernel):
            multiply(m: m, a: operand, kernel: kernel, packedB: packedB, layout: layout, columns: columns, c: c,
                     ldc: ldc, epilogue: epilogue, pool: pool)
        case .bf16(let kernel):
            let panels = UnsafeRawPointer(packedB).assumingMemoryBound(to: UInt16.self)
            multiplyBF16(m: m, a: operand, kernel: kernel, packedB: panels, layout: layout, columns: columns,
                         destination: .matrix(c: c, ldc: ldc, epilogue: epilogue), pool: pool)
        }
    }

    /// Checks the sizes of a stored `rows × columns` matrix with row stride `ld` (programming errors only).
    static func checkOperand(rows: Int, columns: Int, ld: Int, name: String) {
        precondition(rows >= 0 && columns >= 0, "GEMM: \(name) has negative size \(rows)×\(columns)")
        precondition(ld >= columns, "GEMM: ld\(name) = \(ld) is less than the row width \(columns) of \(name)")
    }
}
