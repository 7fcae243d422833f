import CKernels

/// One bfloat16 GEMM micro-kernel variant from CKernels and its register tile: `vdpbf16ps` on CPUs with
/// AVX512-BF16; elsewhere AVX-512, AVX2, NEON or scalar code that widens bfloat16 to fp32 and adds the products
/// in the same order, so every variant gives the same sums.
///
/// GEMMs with a bfloat16 ``PackedMatrix`` use the variant it was packed for: ``active`` at packing time, the
/// fastest the CPU supports unless a test chose another with ``setActive(_:)``.
public struct BF16GEMMKernel: Equatable, CustomStringConvertible, @unchecked Sendable {
    let raw: UnsafePointer<ck_bgemm_kernel>

    /// The variant for `isa`, or `nil` when this build or CPU lacks it.
    public init?(_ isa: GEMMKernel.ISA) {
        guard let raw = ck_bgemm_kernel_for(isa.raw) else { return nil }
        self.raw = raw
    }

    private init(raw: UnsafePointer<ck_bgemm_kernel>) { self.raw = raw }

    /// The variants this CPU can run.
    public static var available: [BF16GEMMKernel] { GEMMKernel.ISA.allCases.compactMap(BF16GEMMKernel.init) }

    /// The variant new bfloat16 matrices are packed for.
    public static var active: BF16GEMMKernel { BF16GEMMKernel(raw: ck_bgemm_kernel_active()) }

    /// Makes `kernel` the variant new bfloat16 matrices are packed for (those packed earlier keep theirs).
    public static func setActive(_ kernel: BF16GEMMKernel) { _ = ck_bgemm_set_active(kernel.raw.pointee.isa) }

    /// A short name with the register tile, such as `avx512bf16-12x32`.
    public var description: String { String(cString: raw.pointee.name) }

    /// Rows of C computed per register tile (the height of a packed A panel).
    var mr: Int { Int(raw.pointee.mr) }
    /// Columns of C computed per register tile (the width of a packed B panel).
    var nr: Int { Int(raw.pointee.nr) }

    /// The form of this variant that computes the fewest padded rows for a left operand of `rows` rows: the same
    /// instruction set, B panels and sums with another register tile height (AVX512-BF16 has 10- and 8-row forms
    /// beside its 12-row tile; `ck_bgemm_kernel_fitting`), or this variant itself.
    func fitting(rows: Int) -> BF16GEMMKernel { BF16GEMMKernel(raw: ck_bgemm_kernel_fitting(raw, Int64(rows))) }

    /// Rows of the product that ``fitting(rows:)`` computes for `rows` rows: `rows` rounded up to its register tiles.
    func computedRows(_ rows: Int) -> Int {
        let mr = fitting(rows: rows).mr
        return (rows + mr - 1) / mr * mr
    }

    /// Floats of scratch that ``packA(_:rows:depth:into:)`` needs for `rowPanels` panels of depth `kc`.
    func packedACount(rowPanels: Int, kc: Int) -> Int { rowPanels * mr * (kc + 1) }

    /// Packs rows `rows` × depth `depth` of `op(A)` into this variant's A panels, rounding to bfloat16.
    func packA(_ a: GEMM.Operand, rows: Range<Int>, depth: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        // op(A)[i, p] is a[i·ld + p], or a[p·ld + i] when transposed.
        let start = a.transposed ? depth.lowerBound &* a.ld &+ rows.lowerBound : rows.lowerBound &* a.ld &+ depth.lowerBound
        raw.pointee.pack_a(a.base + start, Int64(a.ld), a.transposed ? 1 : 0, Int64(rows.count), Int64(depth.count),
                           destination)
    }

    /// Runs the kernel on one block: `C[mc×nc] = epilogue(packedA[mc×kc] · packedB[kc×nc])`.
    func block(mc: Int, nc: Int, kc: Int, packedA: UnsafePointer<Float>, packedB: UnsafePointer<UInt16>,
               c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue) {
        var raw = epilogue.raw
        self.raw.pointee.block(Int64(mc), Int64(nc), Int64(kc), packedA, packedB, c, Int64(ldc), &raw)
    }

    /// Whether both are the same variant.
    public static func == (lhs: BF16GEMMKernel, rhs: BF16GEMMKernel) -> Bool { lhs.raw == rhs.raw }
}
