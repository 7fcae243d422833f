import CKernels

/// One SGEMM micro-kernel variant from CKernels (AVX-512, AVX2, NEON or scalar) and its register tile.
///
/// GEMM uses ``active``: the fastest variant the CPU supports, picked once. Tests switch variants with
/// ``setActive(_:)`` to check each one against the reference.
public struct GEMMKernel: Equatable, CustomStringConvertible, @unchecked Sendable {
    let raw: UnsafePointer<ck_sgemm_kernel>

    /// The instruction sets a variant can be written for.
    public enum ISA: CaseIterable, Sendable {
        /// Portable C, any CPU.
        case scalar
        /// x86-64 with AVX2 and FMA.
        case avx2
        /// x86-64 with AVX-512F and FMA.
        case avx512
        /// AArch64 Advanced SIMD.
        case neon
        /// x86-64 with AVX-512F and AVX512-BF16 (`vdpbf16ps`): bfloat16 GEMM only (``BF16GEMMKernel``).
        case avx512bf16

        var raw: ck_isa {
            switch self {
            case .scalar: return CK_ISA_SCALAR
            case .avx2: return CK_ISA_AVX2
            case .avx512: return CK_ISA_AVX512
            case .neon: return CK_ISA_NEON
            case .avx512bf16: return CK_ISA_AVX512BF16
            }
        }
    }

    /// The variant for `isa`, or `nil` when this build or CPU lacks it.
    public init?(_ isa: ISA) {
        guard let raw = ck_sgemm_kernel_for(isa.raw) else { return nil }
        self.raw = raw
    }

    private init(raw: UnsafePointer<ck_sgemm_kernel>) { self.raw = raw }

    /// The variants this CPU can run.
    public static var available: [GEMMKernel] { ISA.allCases.compactMap(GEMMKernel.init) }

    /// The variant GEMM uses now.
    public static var active: GEMMKernel { GEMMKernel(raw: ck_sgemm_kernel_active()) }

    /// Makes `kernel` the variant GEMM uses from now on (matrices packed earlier keep the variant they were
    /// packed for).
    public static func setActive(_ kernel: GEMMKernel) { _ = ck_sgemm_set_active(kernel.raw.pointee.isa) }

    /// A short name with the register tile, such as `avx512-12x32`.
    public var description: String { String(cString: raw.pointee.name) }

    /// Rows of C computed per register tile (the height of a packed A panel).
    var mr: Int { Int(raw.pointee.mr) }
    /// Columns of C computed per register tile (the width of a packed B panel).
    var nr: Int { Int(raw.pointee.nr) }

    /// Whether the variant can read a row-major A in place (``blockDirect(mc:nc:kc:a:lda:packedB:c:ldc:epilogue:)``)
    /// instead of packing it.
    var readsAInPlace: Bool { raw.pointee.block_direct != nil }

    /// Runs the kernel on one packed block: `C[mc×nc] = epilogue(packedA[mc×kc] · packedB[kc×nc])`.
    func block(mc: Int, nc: Int, kc: Int, packedA: UnsafePointer<Float>, packedB: UnsafePointer<Float>,
               c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue) {
        var raw = epilogue.raw
        self.raw.pointee.block(Int64(mc), Int64(nc), Int64(kc), packedA, packedB, c, Int64(ldc), &raw)
    }

    /// Like ``block(mc:nc:kc:packedA:packedB:c:ldc:epilogue:)`` with A read in place (row `i` at `a + i·lda`);
    /// `mc` must be a multiple of ``mr``. Only for variants that ``readsAInPlace``.
    func blockDirect(mc: Int, nc: Int, kc: Int, a: UnsafePointer<Float>, lda: Int, packedB: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue) {
        var raw = epilogue.raw
        self.raw.pointee.block_direct(Int64(mc), Int64(nc), Int64(kc), a, Int64(lda), packedB, c, Int64(ldc), &raw)
    }

    /// Whether both are the same variant.
    public static func == (lhs: GEMMKernel, rhs: GEMMKernel) -> Bool { lhs.raw == rhs.raw }
}
