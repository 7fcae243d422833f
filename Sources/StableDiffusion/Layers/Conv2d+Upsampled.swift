import TensorCore

extension Conv2d {
    /// This 3×3 convolution (stride 1, padding 1) of the ×2 nearest-neighbour upsampling of `x` (`[B, H, W, in]`),
    /// `[B, 2H, 2W, out]`, without making the upsampled map: 4 products per output pixel instead of 9, the same sums.
    ///
    /// Upsampled row 2i + py copies input row i, so the kernel's three rows land on two input rows: for py = 0 on
    /// rows i − 1 (kernel row 0) and i (rows 1 + 2); for py = 1 on rows i (rows 0 + 1) and i + 1 (row 2); the same for
    /// columns. Each of the four output phases (py, px) is therefore a 2×2 convolution of `x` with summed weights
    /// (``upsampledPhases(_:inChannels:outChannels:precision:workspace:)``), run as shifted taps.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a wrong rank or channel count.
    func convolveUpsampled(_ x: Tensor) throws -> Tensor {
        guard let upsampledTaps else { preconditionFailure("\(name): built without followsUpsampling") }
        guard x.rank == 4, x.shape[3] == inChannels else {
            throw TensorError.shapeMismatch("\(name): expected input [B, H, W, \(inChannels)], got \(x.shape)")
        }
        let (batch, height, width) = (x.shape[0], x.shape[1], x.shape[2])
        var y = Tensor(uninitialized: [batch, 2 * height, 2 * width, outChannels])
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                bias.withUnsafeBufferPointer { b in
                    let geometry = Geometry(batch: batch, height: height, width: width, outHeight: 2 * height,
                                            outWidth: 2 * width)
                    convolveByShiftedTaps(input.baseAddress!, geometry, phases: upsampledTaps, output.baseAddress!,
                                          bias: b.baseAddress!)
                }
            }
        }
        return y
    }

    /// The kernel rows (or columns) that fall on input row offset `a` (0 or 1) of output phase `p` (0 or 1).
    private static func kernelRows(phase p: Int, tap a: Int) -> [Int] {
        [[[0], [1, 2]], [[0, 1], [2]]][p][a]
    }

    /// The four phases (py, px) of ``convolveUpsampled(_:)``: tap (a, b) reads the padded input shifted by
    /// (py + a, px + b), with the sum of the PyTorch weight `[out, in, 3, 3]` at `stored` over the kernel rows and
    /// columns that land on it as its `[in × out]` weight.
    static func upsampledPhases(_ stored: UnsafePointer<Float>, inChannels: Int, outChannels: Int, precision: Precision,
                                workspace: ConversionWorkspace) -> [TapPhase] {
        workspace.withBuffer(count: outChannels * inChannels) { summed in
            (0..<4).map { phase in
                let (py, px) = phase.quotientAndRemainder(dividingBy: 2)
                return TapPhase(row: py, column: px, taps: (0..<4).map { tap in
                    let (a, b) = tap.quotientAndRemainder(dividingBy: 2)
                    let rows = kernelRows(phase: py, tap: a), columns = kernelRows(phase: px, tap: b)
                    ThreadPool.shared.parallelRanges(outChannels, grain: 16) { range in
                        for o in range {
                            for i in 0..<inChannels {
                                let kernel = stored + (o * inChannels + i) * 9
                                var sum: Float = 0
                                for ky in rows { for kx in columns { sum += kernel[ky * 3 + kx] } }
                                summed[o * inChannels + i] = sum
                            }
                        }
                    }
                    return (dy: py + a, dx: px + b,
                            weight: PackedMatrix(k: inChannels, n: outChannels, b: summed, ldb: inChannels,
                                                 transposed: true, precision: precision))
                })
            }
        }
    }
}
