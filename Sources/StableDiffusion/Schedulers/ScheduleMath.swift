import Foundation

/// The NumPy and PyTorch array helpers diffusers' schedulers use, reproduced to the last bit where that decides
/// a timestep (rounding) and to float32 rounding elsewhere.
enum ScheduleMath {
    /// `np.linspace(start, stop, count)` in `Double`: `i * step + start`, with the last value exactly `stop`.
    static func linspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        guard count > 1 else { return count == 1 ? [start] : [] }
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }

    /// `torch.linspace(start, end, count, dtype=torch.float32)` on CPU: the values are computed in `Float` with a
    /// fused multiply-add from whichever end is nearer (`start + step*i` for the first half,
    /// `end - step*(count-1-i)` for the rest).
    static func torchLinspace(_ start: Double, _ end: Double, _ count: Int) -> [Float] {
        let first = Float(start), last = Float(end)
        guard count > 1 else { return count == 1 ? [first] : [] }
        let step = (last - first) / Float(count - 1)
        return (0..<count).map { i in
            i < count / 2 ? first.addingProduct(step, Float(i)) : last.addingProduct(-step, Float(count - 1 - i))
        }
    }

    /// `np.arange(start, stop, step)` for floating-point arguments: `ceil((stop - start) / step)` values
    /// `start + i * delta`, where `delta` is `(start + step) - start` as NumPy's fill computes it.
    static func arange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let count = max(0, Int(((stop - start) / step).rounded(.up)))
        let delta = (start + step) - start
        return (0..<count).map { $0 == 0 ? start : start + Double($0) * delta }
    }

    /// NumPy's `round`: half to even.
    static func round(_ value: Double) -> Double {
        value.rounded(.toNearestOrEven)
    }

    /// `np.interp(x, arange(count), values)` for `x` within `0...count-1` (clamped outside).
    static func interpolate(_ x: Double, in values: [Float]) -> Double {
        guard x > 0 else { return Double(values[0]) }
        guard x < Double(values.count - 1) else { return Double(values[values.count - 1]) }
        let low = Int(x.rounded(.down))
        let fraction = x - Double(low)
        let (a, b) = (Double(values[low]), Double(values[low + 1]))
        // NumPy: slope * (x - xp[j]) + fp[j], with slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]).
        return (b - a) * fraction + a
    }

    /// diffusers' `_sigma_to_t`: the (fractional) training timestep whose sigma is `sigma`, interpolating
    /// linearly in log-sigma between the two neighbouring entries of `logSigmas` (ascending, `Float` as NumPy's
    /// `np.log` of a float32 array gives).
    static func timestep(forSigma sigma: Double, logSigmas: [Float]) -> Double {
        let logSigma = Foundation.log(max(sigma, 1e-10))
        // low index: the last entry not above log(sigma) (0 if none), at most count - 2.
        var low = 0
        for (index, value) in logSigmas.enumerated() where logSigma - Double(value) >= 0 { low = index }
        low = min(low, logSigmas.count - 2)
        let (lowValue, highValue) = (Double(logSigmas[low]), Double(logSigmas[low + 1]))
        let weight = min(max((lowValue - logSigma) / (lowValue - highValue), 0), 1)
        return (1 - weight) * Double(low) + weight * Double(low + 1)
    }

    /// Karras et al. (2022) noise levels, ρ = 7: `count` sigmas from `sigmaMax` down to `sigmaMin`.
    static func karrasSigmas(sigmaMin: Double, sigmaMax: Double, count: Int) -> [Double] {
        let rho = 7.0
        let minInverse = Foundation.pow(sigmaMin, 1 / rho), maxInverse = Foundation.pow(sigmaMax, 1 / rho)
        return linspace(0, 1, count).map { Foundation.pow(maxInverse + $0 * (minInverse - maxInverse), rho) }
    }
}
