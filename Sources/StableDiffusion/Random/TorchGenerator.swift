#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import TensorCore

/// Seeded standard-normal noise that reproduces `torch.randn(shape, generator=torch.Generator().manual_seed(seed))`
/// on CPU, call after call, for `Float32` tensors.
///
/// PyTorch draws 32-bit words from ``MersenneTwister`` and shapes them two ways (ATen's `normal_kernel`):
/// - **16 elements or more**: every element first gets a uniform `Float` `(word & 0xFFFFFF) / 2^24`; then each
///   block of 16 becomes 8 Box–Muller pairs in `Float` (`u1 = 1 - x[j]`, `u2 = x[j + 8]`,
///   `x[j] = sqrt(-2 log u1) cos(2π u2)`, `x[j + 8] = … sin(2π u2)`). When the count is not a multiple of 16, 16
///   fresh uniforms are drawn and the *last* 16 elements are recomputed from them.
/// - **Fewer than 16 elements**: one `Double` Box–Muller per element from 53-bit uniforms (two words each), the
///   spare sine sample cached in the generator and returned by the next such draw.
///
/// The float path is PyTorch's x86-64 kernel (the AVX2 one, which AVX-512 machines run too): Cephes
/// polynomials for `log` and `sincos` with the fused multiply-adds GCC puts in (``CephesFloatMath``). Values
/// are bit-identical to `torch.randn` on x86-64; PyTorch on arm64 uses the C library's `logf`/`cosf`/`sinf`
/// instead and differs from these in the last bit or two (about 1e-7 relative).
///
/// The state advances exactly as PyTorch's does, so successive calls (initial latents, then one draw per
/// ancestral step) stay in step with a diffusers run that shares one generator.
public struct TorchGenerator: NoiseSource, Sendable {
    /// The seed this generator started from.
    public let seed: UInt64
    private var engine: MersenneTwister
    /// PyTorch's `next_double_normal_sample`: the spare sample of the small-tensor path.
    private var spareNormal: Double?

    /// A generator in the state of `torch.Generator().manual_seed(seed)`.
    public init(seed: UInt64) {
        self.seed = seed
        self.engine = MersenneTwister(seed: seed)
    }

    /// `torch.randn(shape, generator=…)`: a `Float32` tensor of standard-normal samples.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a negative dimension.
    public mutating func standardNormal(shape: [Int]) throws -> Tensor {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw TensorError.shapeMismatch("standard normal noise: negative dimension \(bad) in shape \(shape)")
        }
        var tensor = Tensor(uninitialized: shape)
        tensor.withUnsafeMutableBufferPointer { fill($0) }
        return tensor
    }

    /// Fills `values` as `torch.randn` fills a contiguous tensor of `values.count` elements.
    public mutating func fill(_ values: UnsafeMutableBufferPointer<Float>) {
        if values.count >= 16 {
            fillBoxMuller16(values)
        } else {
            for i in values.indices { values[i] = Float(nextDoubleNormal()) }
        }
    }

    /// The large-tensor path: uniforms everywhere, then Box–Muller over blocks of 16 (see the type's notes).
    private mutating func fillBoxMuller16(_ values: UnsafeMutableBufferPointer<Float>) {
        let count = values.count
        for i in 0..<count { values[i] = nextFloatUniform() }
        var start = 0
        while start + 16 <= count {
            Self.boxMuller16(values, from: start)
            start += 16
        }
        if count % 16 != 0 {
            for i in (count - 16)..<count { values[i] = nextFloatUniform() }
            Self.boxMuller16(values, from: count - 16)
        }
    }

    /// ATen's AVX2 `NormalFill16` with mean 0 and standard deviation 1, in `Float`.
    private static func boxMuller16(_ values: UnsafeMutableBufferPointer<Float>, from start: Int) {
        let twoPi = Float(2.0 * Double.pi)
        for j in 0..<8 {
            let u1 = 1 - values[start + j]
            let u2 = values[start + j + 8]
            let radius = (-2 * CephesFloatMath.log(u1)).squareRoot()
            let (sine, cosine) = CephesFloatMath.sincos(twoPi * u2)
            values[start + j] = radius * cosine
            values[start + j + 8] = radius * sine
        }
    }

    /// `at::uniform_real_distribution<float>(0, 1)`: 24 random bits scaled to [0, 1).
    private mutating func nextFloatUniform() -> Float {
        Float(engine.nextUInt32() & 0xFF_FFFF) * (1.0 / 16_777_216.0)
    }

    /// `at::uniform_real_distribution<double>(0, 1)`: 53 random bits scaled to [0, 1).
    private mutating func nextDoubleUniform() -> Double {
        Double(engine.nextUInt64() & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `at::normal_distribution<double>(0, 1)` with PyTorch's cached spare sample.
    private mutating func nextDoubleNormal() -> Double {
        if let spare = spareNormal {
            spareNormal = nil
            return spare
        }
        let u1 = nextDoubleUniform()
        let u2 = nextDoubleUniform()
        let radius = (-2.0 * log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        spareNormal = radius * sin(theta)
        return radius * cos(theta)
    }
}
