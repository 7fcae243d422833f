import CKernels
import TensorCore

/// Group normalisation of NHWC feature maps (or `[B, N, C]` tokens), as PyTorch's `nn.GroupNorm` with affine
/// parameters, optionally followed by SiLU in the same pass.
///
/// Statistics are computed per batch item and group over all pixels, in two passes (mean, then centred squares),
/// from per-channel partial sums over chunks of pixels.
package final class GroupNorm {
    /// The module path, for error messages.
    package let name: String
    /// Number of groups; divides ``channels``.
    package let groups: Int
    /// Number of channels.
    package let channels: Int
    /// Added to the variance.
    package let eps: Float
    let gamma: Tensor
    let beta: Tensor

    /// A GroupNorm whose parameters are `weight` and `bias` in `scope`.
    /// - Throws: ``TensorError/invalidArgument(_:)`` naming the module when `groups` does not divide `channels`.
    package init(_ scope: ParameterScope, groups: Int, channels: Int, eps: Float) throws {
        guard groups >= 1, channels % groups == 0 else {
            throw TensorError.invalidArgument("\(scope.path): \(groups) groups do not divide \(channels) channels")
        }
        name = scope.path
        self.groups = groups
        self.channels = channels
        self.eps = eps
        gamma = scope.parameter("weight", shape: [channels], role: .normScale)
        beta = scope.parameter("bias", shape: [channels], role: .normShift)
    }

    /// What normalising one input takes, per batch item and channel: `y = x · scale + shift`, then SiLU when `silu`.
    /// ``callAsFunction(_:silu:)`` applies it to a new tensor; a convolution can apply it while copying its input
    /// (``Conv2d/callAsFunction(_:normalizedBy:silu:)``), so the normalised map is never stored.
    package struct Affine {
        /// `[B × channels]`: item b's scale for channel c at `b · channels + c`.
        let scale: [Float]
        /// `[B × channels]`, as ``scale``.
        let shift: [Float]
        /// Whether SiLU follows.
        let silu: Bool
        /// Values per pixel.
        let channels: Int

        /// `y = x · scale + shift` (then SiLU) on `pixels` rows of `channels` values of batch item `item`.
        func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pixels: Int, item: Int) {
            scale.withUnsafeBufferPointer { scale in
                shift.withUnsafeBufferPointer { shift in
                    ck_nn_scale_shift(x, y, pixels, channels, scale.baseAddress! + item * channels,
                                      shift.baseAddress! + item * channels, silu ? 1 : 0)
                }
            }
        }
    }

    /// Normalises `x` (`[B, ..., channels]`), then applies SiLU when `silu` is true.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the module when the last dimension is not `channels`.
    package func callAsFunction(_ x: Tensor, silu: Bool = false) throws -> Tensor {
        let affine = try self.affine(x, silu: silu)
        let pixels = x.count / max(1, x.shape[0] * channels)
        var y = Tensor(uninitialized: x.shape)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                for b in 0..<x.shape[0] {
                    let offset = b * pixels * channels
                    ThreadPool.shared.parallelRanges(pixels, grain: max(1, 8192 / channels)) { range in
                        let start = offset + range.lowerBound * channels
                        affine.apply(input.baseAddress! + start, output.baseAddress! + start, pixels: range.count, item: b)
                    }
                }
            }
        }
        return y
    }

    /// The scale and shift that normalise each batch item of `x` (`[B, ..., channels]`), with SiLU after when
    /// `silu` is true.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the module when the last dimension is not `channels`.
    package func affine(_ x: Tensor, silu: Bool) throws -> Affine {
        guard x.rank >= 2, x.shape.last == channels else {
            throw TensorError.shapeMismatch("\(name): expected input [B, ..., \(channels)], got \(x.shape)")
        }
        let batch = x.shape[0]
        let pixels = x.count / max(1, batch * channels)
        var scale: [Float] = [], shift: [Float] = []
        x.withUnsafeBufferPointer { input in
            for b in 0..<batch {
                let item = affine(input.baseAddress! + b * pixels * channels, pixels: pixels)
                scale += item.scale
                shift += item.shift
            }
        }
        return Affine(scale: scale, shift: shift, silu: silu, channels: channels)
    }

    /// The per-channel scale and shift that normalise one batch item (`pixels` rows of `channels`).
    private func affine(_ x: UnsafePointer<Float>, pixels: Int) -> (scale: [Float], shift: [Float]) {
        let (mean, variance) = groupMoments(x, pixels: pixels)
        let perGroup = channels / groups
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                for c in 0..<channels {
                    let rstd = 1 / (Float(variance[c / perGroup]) + eps).squareRoot()
                    scale[c] = g[c] * rstd
                    shift[c] = b[c] - Float(mean[c / perGroup]) * scale[c]
                }
            }
        }
        return (scale, shift)
    }

    /// Each group's mean and (biased) variance over all pixels, reading `x` once: every channel's mean and sum of
    /// squared deviations per chunk of pixels (`ck_nn_channel_moments`, chunks in parallel), merged in double
    /// precision over the chunks and the group's channels (Chan, Golub and LeVeque's pairwise update).
    private func groupMoments(_ x: UnsafePointer<Float>, pixels: Int) -> (mean: [Double], variance: [Double]) {
        let chunks = min(max(pixels / 256, 1), ThreadPool.shared.threadCount * 4)
        // Per chunk: the channels' means, their sums of squared deviations, and the kernel's scratch.
        var partial = [Float](repeating: 0, count: 4 * chunks * channels)
        partial.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            ThreadPool.shared.parallelFor(chunks) { chunk in
                let start = pixels * chunk / chunks, end = pixels * (chunk + 1) / chunks
                let area = base + 4 * chunk * channels
                ck_nn_channel_moments(x + start * channels, end - start, channels, area, area + channels,
                                      area + 2 * channels)
            }
        }
        let perGroup = channels / groups
        var mean = [Double](repeating: 0, count: groups), variance = [Double](repeating: 0, count: groups)
        for group in 0..<groups {
            // Count, mean and sum of squared deviations of the values merged so far.
            var (count, groupMean, spread) = (0.0, 0.0, 0.0)
            for c in group * perGroup ..< (group + 1) * perGroup {
                for chunk in 0..<chunks {
                    let n = Double(pixels * (chunk + 1) / chunks - pixels * chunk / chunks)
                    if n == 0 { continue }
                    let delta = Double(partial[4 * chunk * channels + c]) - groupMean, total = count + n
                    groupMean += delta * n / total
                    spread += Double(partial[(4 * chunk + 1) * channels + c]) + delta * delta * count * n / total
                    count = total
                }
            }
            mean[group] = groupMean
            variance[group] = count > 0 ? spread / count : 0
        }
        return (mean, variance)
    }
}
