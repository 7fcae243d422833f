import TensorCore
import ToMe
import ToMeCUDA
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One synthetic planning problem of ``CUDAParity/syntheticReports(device:includeLarge:)``: a grid, a stride, a
/// ratio and a metric built to stress one part of the kernels.
struct CUDAParityCase {
    enum Data {
        /// Independent standard normal values.
        case normal
        /// Low-frequency waves over the grid plus a little noise: neighbours are nearly parallel, so many scores
        /// fall within the fp16 error bound of each other (the exact re-check decides).
        case smooth
        /// Every token a copy of one of a few prototypes: exact score ties, broken by index.
        case duplicates
        /// Normal values with every seventh token zero (score 0 with everything) and every fifth negated.
        case zeroRows
    }

    let name: String
    let batch, height, width, channels, sx, sy: Int
    let ratio: Double
    let data: Data
    let seed: UInt64

    /// The problems; `includeLarge` adds the benchmark size (128×128, C = 320), slow in a debug build.
    static func all(includeLarge: Bool) -> [CUDAParityCase] {
        var cases = [
            CUDAParityCase(name: "normal 64x64 C320 B2 s2 r0.5", batch: 2, height: 64, width: 64, channels: 320,
                           sx: 2, sy: 2, ratio: 0.5, data: .normal, seed: 1),
            CUDAParityCase(name: "smooth 48x40 C320 B2 s2 r0.5", batch: 2, height: 48, width: 40, channels: 320,
                           sx: 2, sy: 2, ratio: 0.5, data: .smooth, seed: 2),
            CUDAParityCase(name: "duplicates 32x32 C64 B2 s2 r0.6", batch: 2, height: 32, width: 32, channels: 64,
                           sx: 2, sy: 2, ratio: 0.6, data: .duplicates, seed: 3),
            CUDAParityCase(name: "zero rows 30x34 C77 B3 sx3 sy2 r0.5", batch: 3, height: 30, width: 34, channels: 77,
                           sx: 3, sy: 2, ratio: 0.5, data: .zeroRows, seed: 4),
            CUDAParityCase(name: "one destination 3x5 C8 B1 sx5 sy3 r0.9", batch: 1, height: 3, width: 5, channels: 8,
                           sx: 5, sy: 3, ratio: 0.9, data: .normal, seed: 5),
            CUDAParityCase(name: "smooth 37x29 C1280 B1 s2 r0.3", batch: 1, height: 37, width: 29, channels: 1280,
                           sx: 2, sy: 2, ratio: 0.3, data: .smooth, seed: 6),
        ]
        if includeLarge {
            cases.append(CUDAParityCase(name: "normal 128x128 C320 B2 s2 r0.5", batch: 2, height: 128, width: 128,
                                        channels: 320, sx: 2, sy: 2, ratio: 0.5, data: .normal, seed: 7))
            cases.append(CUDAParityCase(name: "smooth 128x128 C320 B2 s2 r0.5", batch: 2, height: 128, width: 128,
                                        channels: 320, sx: 2, sy: 2, ratio: 0.5, data: .smooth, seed: 8))
        }
        return cases
    }

    /// The metric `[batch, height · width, channels]`, the same for the same case on every run.
    func metric() -> Tensor {
        var generator = SplitMix64(seed: seed &* 0x1000_0001)
        let tokens = height * width
        var values = [Float](repeating: 0, count: batch * tokens * channels)
        switch data {
        case .normal:
            for i in values.indices { values[i] = CUDAParityCase.normal(&generator) }
        case .smooth:
            // Three waves per channel with random frequencies and phases, shared by the batch, plus 2% noise.
            let waves = (0..<(channels * 3)).map { _ in
                (CUDAParityCase.uniform(&generator) * 0.3, CUDAParityCase.uniform(&generator) * 0.3,
                 CUDAParityCase.uniform(&generator) * 6.3)
            }
            for b in 0..<batch {
                for t in 0..<tokens {
                    let (row, column) = (Float(t / width), Float(t % width))
                    for c in 0..<channels {
                        var v = Float(b) * 0.1
                        for k in 0..<3 {
                            let (fy, fx, phase) = waves[c * 3 + k]
                            v += sinf(fy * row + fx * column + phase)
                        }
                        values[(b * tokens + t) * channels + c] = v + 0.02 * CUDAParityCase.normal(&generator)
                    }
                }
            }
        case .duplicates:
            let prototypes = (0..<(6 * channels)).map { _ in CUDAParityCase.normal(&generator) }
            for b in 0..<batch {
                for t in 0..<tokens {
                    let p = Int(generator.next(below: 6))
                    for c in 0..<channels { values[(b * tokens + t) * channels + c] = prototypes[p * channels + c] }
                }
            }
        case .zeroRows:
            for b in 0..<batch {
                for t in 0..<tokens {
                    for c in 0..<channels {
                        let v = t % 7 == 3 ? 0 : CUDAParityCase.normal(&generator)
                        values[(b * tokens + t) * channels + c] = t % 5 == 1 ? -v : v
                    }
                }
            }
        }
        // The shape always matches the element count built above.
        return (try? Tensor(shape: [batch, tokens, channels], scalars: values)) ?? Tensor(zeros: [0])
    }

    private static func uniform(_ generator: inout SplitMix64) -> Float {
        Float(generator.next() >> 40) / Float(1 << 24)
    }

    /// A standard normal value (Box–Muller).
    private static func normal(_ generator: inout SplitMix64) -> Float {
        let u1 = max(uniform(&generator), 1e-7), u2 = uniform(&generator)
        return (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
    }
}
