/// The seeded generator behind random partitions: SplitMix64 (Steele, Lea & Flood 2014), the same sequence on every
/// platform and backend for a given seed.
///
/// `next()` advances the state by the golden-ratio increment 0x9E3779B97F4A7C15 and returns the state mixed by
/// `z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^ (z >> 31)`.
/// Bounded draws use ``next(below:)`` (Lemire's multiply-shift with rejection), so they carry no modulo bias.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    /// The generator's whole state.
    public private(set) var state: UInt64

    /// A generator whose sequence is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (`bound >= 1`): the high word of `next() * bound`, redrawn while the low
    /// word is below `2^64 mod bound` (Lemire 2019), which removes the modulo bias.
    public mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "SplitMix64.next(below:) needs a positive bound")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }
}
