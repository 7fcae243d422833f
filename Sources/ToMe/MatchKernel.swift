import CKernels

/// One variant of the fused best-destination kernel (CKernels' `ck_match_*`): AVX512-BF16, AVX-512, AVX2, NEON or
/// scalar. Every variant returns the same, canonical result (see `ck_match.h`); they differ only in speed.
public struct MatchKernel: @unchecked Sendable, CustomStringConvertible {
    let kernel: OpaquePointer

    /// The fastest variant this CPU supports.
    public static let best = MatchKernel(kernel: ck_match_kernel_best())

    /// Every variant this build and CPU can run, scalar (the reference) first.
    public static var available: [MatchKernel] {
        (0..<Int(CK_MATCH_ISA_COUNT)).compactMap { isa in
            ck_match_kernel_for(ck_match_isa(rawValue: UInt32(isa))).map(MatchKernel.init(kernel:))
        }
    }

    /// A short name such as `avx512bf16-12x32`.
    public var description: String { String(cString: ck_match_kernel_name(kernel)) }

    /// The instruction set: `scalar`, `avx2`, `avx512`, `avx512bf16` or `neon`.
    public var isa: String {
        switch ck_match_kernel_isa(kernel) {
        case CK_MATCH_AVX2: return "avx2"
        case CK_MATCH_AVX512: return "avx512"
        case CK_MATCH_AVX512_BF16: return "avx512bf16"
        case CK_MATCH_NEON: return "neon"
        default: return "scalar"
        }
    }

    /// The canonical fp32 dot product every variant's scores are defined by: 16 lane accumulators, lane `c % 16`
    /// updated with a fused multiply-add in channel order, then lanes `l + 8`, `l + 4`, `l + 2`, `l + 1` added in.
    public func canonicalDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        ck_match_dot(kernel, a, b, Int64(count))
    }
}
