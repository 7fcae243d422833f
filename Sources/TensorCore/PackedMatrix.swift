/// A `[k×n]` right-hand GEMM operand packed once into the panel layout of a micro-kernel, for reuse on every call.
///
/// Layers pack their weights at load time: a PyTorch `Linear` weight `W` stored `[out, in]` becomes the packed
/// `Wᵀ` (`k = in`, `n = out`) with ``init(_:transposed:precision:pool:)``, so `y = x · Wᵀ` is
/// `GEMM.sgemm(m: tokens, a: x, lda: in, b: packed, c: y, ldc: out)`. The matrix keeps the kernel variant it was
/// packed for, which GEMM then uses for it. With ``Precision/bf16`` the panels hold bfloat16 values (half the
/// memory) and GEMMs with it round A to bfloat16 and accumulate in fp32 (``BF16GEMMKernel``).
public final class PackedMatrix: @unchecked Sendable {
    /// Depth of the product (rows of the logical `[k×n]` matrix).
    public var k: Int { layout.k }
    /// Columns of the logical `[k×n]` matrix (columns of the product).
    public var n: Int { layout.n }
    /// The number format of the panels.
    public var precision: Precision { layout.precision }
    /// Rows of the product that the kernel these panels are packed for computes at once (its register tile).
    package var rowTile: Int { layout.variant.mr }
    /// Rows of the product a GEMM with this matrix computes for `m` rows of A, and so about what it costs: `m`
    /// rounded up to whole register tiles of the kernel form that fits `m` best (``rowTile`` for fp32).
    package func computedRows(_ m: Int) -> Int {
        switch layout.variant {
        case .fp32(let kernel): return (m + kernel.mr - 1) / kernel.mr * kernel.mr
        case .bf16(let kernel): return kernel.computedRows(m)
        }
    }
    /// Columns per packed panel: a GEMM computing only some columns (``GEMM/sgemm(m:alpha:a:lda:transA:b:columns:beta:c:ldc:bias:pool:)``)
    /// starts them at a multiple of it.
    public var columnTile: Int { layout.nr }
    /// Bytes the packed panels take.
    public var byteCount: Int { storage.count * MemoryLayout<Float>.stride }
    /// Where each panel lives in ``storage``.
    let layout: Layout
    /// The packed panels (never written after init): floats, or bfloat16 values two to a float's room.
    let storage: TensorStorage

    /// Packs `op(B)`, the `[k×n]` matrix at `b` with row stride `ldb`; with `transposed`, `b` holds `[n×k]`
    /// (row stride `ldb`) and its transpose is packed. With `precision` `.bf16` every value is rounded to bfloat16.
    public init(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transposed: Bool = false,
                precision: Precision = .fp32, pool: ThreadPool = .shared) {
        GEMM.checkOperand(rows: transposed ? n : k, columns: transposed ? k : n, ld: ldb, name: "b")
        layout = Layout(k: k, n: n, variant: Layout.Variant(precision))
        storage = TensorStorage(count: layout.floatCount, zeroed: false)
        GEMM.packB(GEMM.Operand(base: b, ld: ldb, transposed: transposed), layout: layout, into: storage.pointer, pool: pool)
    }

    /// Packs `Wᵀ` of a PyTorch weight `W` (`[n × k]`, row stride `ldw`) into bfloat16 panels of the active kernel with
    /// interleaved halves: panel `s` holds columns `s·nr/2 ..< (s+1)·nr/2` of `Wᵀ` and then the same columns of its
    /// second half (`n/2` on). Only ``GEGLUProjection`` multiplies with such a matrix; the caller checks that
    /// the layout has one `k` slice and that `nr/2` divides `n/2`.
    init(interleavingHalvesOf weight: UnsafePointer<Float>, k: Int, n: Int, ldw: Int, pool: ThreadPool) {
        GEMM.checkOperand(rows: n, columns: k, ld: ldw, name: "b")
        layout = Layout(k: k, n: n, variant: .bf16(.active))
        storage = TensorStorage(count: layout.floatCount, zeroed: false)
        GEMM.packInterleavedHalves(weight, ldw: ldw, layout: layout, into: storage.pointer, pool: pool)
    }

    /// Packs a matrix tensor: `[k, n]` as is, or with `transposed` a `[n, k]` tensor such as a PyTorch `Linear`
    /// weight `[out, in]` (then `k = in`, `n = out`, and `x · Wᵀ` is a product with this matrix).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `matrix` is not of rank 2.
    public convenience init(_ matrix: Tensor, transposed: Bool = false, precision: Precision = .fp32,
                            pool: ThreadPool = .shared) throws {
        guard matrix.rank == 2 else {
            throw TensorError.shapeMismatch("PackedMatrix: expected a matrix (rank 2), got shape \(matrix.shape)")
        }
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        self.init(k: transposed ? columns : rows, n: transposed ? rows : columns, b: matrix.storage.pointer,
                  ldb: max(columns, 1), transposed: transposed, precision: precision, pool: pool)
    }
}
