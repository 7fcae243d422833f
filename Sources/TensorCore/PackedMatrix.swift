/// A `[k×n]` right-hand GEMM operand packed once into the panel layout of a micro-kernel, for reuse on every call.
///
/// Layers pack their weights at load time: a PyTorch `Linear` weight `W` stored `[out, in]` becomes the packed
/// `Wᵀ` (`k = in`, `n = out`) with ``init(_:transposed:pool:)``, so `y = x · Wᵀ` is
/// `GEMM.sgemm(m: tokens, a: x, lda: in, b: packed, c: y, ldc: out)`. The matrix keeps the kernel variant it was
/// packed for, which GEMM then uses for it.
public final class PackedMatrix: @unchecked Sendable {
    /// Depth of the product (rows of the logical `[k×n]` matrix).
    public var k: Int { layout.k }
    /// Columns of the logical `[k×n]` matrix (columns of the product).
    public var n: Int { layout.n }
    /// Where each panel lives in ``storage``.
    let layout: Layout
    /// The packed panels (never written after init).
    let storage: TensorStorage

    /// Packs `op(B)`, the `[k×n]` matrix at `b` with row stride `ldb`; with `transposed`, `b` holds `[n×k]`
    /// (row stride `ldb`) and its transpose is packed.
    public init(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transposed: Bool = false, pool: ThreadPool = .shared) {
        GEMM.checkOperand(rows: transposed ? n : k, columns: transposed ? k : n, ld: ldb, name: "b")
        layout = Layout(k: k, n: n, kernel: .active)
        storage = TensorStorage(count: layout.count, zeroed: false)
        GEMM.packB(GEMM.Operand(base: b, ld: ldb, transposed: transposed), layout: layout, into: storage.pointer, pool: pool)
    }

    /// Packs a matrix tensor: `[k, n]` as is, or with `transposed` a `[n, k]` tensor such as a PyTorch `Linear`
    /// weight `[out, in]` (then `k = in`, `n = out`, and `x · Wᵀ` is a product with this matrix).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `matrix` is not of rank 2.
    public convenience init(_ matrix: Tensor, transposed: Bool = false, pool: ThreadPool = .shared) throws {
        guard matrix.rank == 2 else {
            throw TensorError.shapeMismatch("PackedMatrix: expected a matrix (rank 2), got shape \(matrix.shape)")
        }
        let (rows, columns) = (matrix.shape[0], matrix.shape[1])
        self.init(k: transposed ? columns : rows, n: transposed ? rows : columns, b: matrix.storage.pointer,
                  ldb: max(columns, 1), transposed: transposed, pool: pool)
    }

    /// The packed layout of a `[k×n]` operand for one kernel variant: `k` is cut into slices of at most
    /// ``GEMMBlocking/maxKC`` rows; within a slice of depth `kc`, column panel `s` (columns `s·nr ..< (s+1)·nr`,
    /// zero past `n`) holds element `(p, j)` at `s·nr·kc + p·nr + j`.
    struct Layout {
        let k: Int
        let n: Int
        let kernel: GEMMKernel
        /// The `k` ranges summed one after another.
        let slices: [Range<Int>]
        /// Number of `nr`-wide column panels.
        let panelCount: Int

        init(k: Int, n: Int, kernel: GEMMKernel) {
            self.k = k
            self.n = n
            self.kernel = kernel
            slices = GEMMBlocking.kSlices(k: k)
            panelCount = (n + kernel.nr - 1) / kernel.nr
        }

        /// Number of floats the packed panels take.
        var count: Int { k * panelCount * kernel.nr }

        /// Offset of column panel `panel` in slice `slice`.
        func offset(slice: Int, panel: Int) -> Int {
            let depth = slices[slice]
            return depth.lowerBound * panelCount * kernel.nr + panel * kernel.nr * depth.count
        }
    }
}
