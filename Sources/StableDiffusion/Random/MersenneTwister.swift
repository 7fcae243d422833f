/// The 32-bit Mersenne Twister (MT19937) exactly as PyTorch's CPU generator runs it (`at::mt19937`).
///
/// Seeding takes the low 32 bits of the seed (as `at::mt19937` does), so `MersenneTwister(seed: s)` yields the
/// same 32-bit words as `torch.Generator().manual_seed(s)` consumes.
struct MersenneTwister: Sendable {
    private static let stateSize = 624
    private static let shift = 397
    private static let matrixA: UInt32 = 0x9908_b0df

    private var state: [UInt32]
    private var next: Int

    /// A generator seeded like `at::mt19937(seed)`.
    init(seed: UInt64) {
        var state = [UInt32](repeating: 0, count: Self.stateSize)
        state[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<Self.stateSize {
            let previous = state[j - 1]
            state[j] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(j)
        }
        self.state = state
        self.next = Self.stateSize
    }

    /// The next 32-bit output word.
    mutating func nextUInt32() -> UInt32 {
        if next == Self.stateSize { regenerate() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// Two consecutive words as one 64-bit value, the first in the high half (PyTorch's `random64()`).
    mutating func nextUInt64() -> UInt64 {
        let high = UInt64(nextUInt32())
        let low = UInt64(nextUInt32())
        return high << 32 | low
    }

    /// Refills the state with the standard MT19937 twist.
    private mutating func regenerate() {
        let n = Self.stateSize, m = Self.shift
        for i in 0..<n {
            let mixed = (state[i] & 0x8000_0000) | (state[(i + 1) % n] & 0x7fff_ffff)
            let twisted = (mixed >> 1) ^ ((state[(i + 1) % n] & 1) == 1 ? Self.matrixA : 0)
            state[i] = state[(i + m) % n] ^ twisted
        }
        next = 0
    }
}
