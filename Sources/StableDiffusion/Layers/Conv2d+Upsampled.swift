import TensorCore

extension Conv2d {
    /// How ``convolveUpsampled(_:)`` computes its four output phases, each holding its weights packed for it.
    enum UpsampledMethod {
        /// Four 2×2 convolutions as shifted taps (4 GEMMs each).
        case shiftedTaps([TapPhase])
        /// Four 2×2 convolutions by Winograd's F(2×2, 2×2) (9 GEMMs per phase on 3×3 patches, each for 2×2 output
        /// pixels: 9 products per 4 outputs where taps make 16).
        case winograd([WinogradPhase])
    }

    /// This 3×3 convolution (stride 1, padding 1) of the ×2 nearest-neighbour upsampling of `x` (`[B, H, W, in]`),
    /// `[B, 2H, 2W, out]`, without making the upsampled map: 4 products per output pixel instead of 9 (fewer still
    /// by Winograd), the same sums.
    ///
    /// Upsampled row 2i + py copies input row i, so the kernel's three rows land on two input rows: for py = 0 on
    /// rows i − 1 (kernel row 0) and i (rows 1 + 2); for py = 1 on rows i (rows 0 + 1) and i + 1 (row 2); the same for
    /// columns. Each of the four output phases (py, px) is therefore a 2×2 convolution of `x` with summed weights
    /// (``upsampledMethod(_:inChannels:outChannels:winograd:precision:workspace:)``).
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a wrong rank or channel count.
    func convolveUpsampled(_ x: Tensor) throws -> Tensor {
        guard let upsampled else { preconditionFailure("\(name): built without followsUpsampling") }
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
                    switch upsampled {
                    case .shiftedTaps(let phases):
                        convolveByShiftedTaps(input.baseAddress!, geometry, phases: phases, output.baseAddress!,
                                              bias: b.baseAddress!)
                    case .winograd(let phases):
                        convolveByWinograd(input.baseAddress!, geometry, phases: phases, output.baseAddress!,
                                           bias: b.baseAddress!, normalization: nil)
                    }
                }
            }
        }
        return y
    }

    /// The kernel rows (or columns) that fall on input row offset `a` (0 or 1) of output phase `p` (0 or 1).
    private static func kernelRows(phase p: Int, tap a: Int) -> [Int] {
        [[[0], [1, 2]], [[0, 1], [2]]][p][a]
    }

    /// S_p (2 × 3) for phase `p`: entry [a][r] is 1 where kernel row r lands on tap a.
    private static func tapSelection(phase p: Int) -> [[Double]] {
        (0..<2).map { a in (0..<3).map { r in kernelRows(phase: p, tap: a).contains(r) ? 1 : 0 } }
    }

    /// G·S_p for phase `p` (3 × 3): F(2×2, 2×2)'s G = [1 0; 1 1; 0 1] (nn_winograd.c) times ``tapSelection(phase:)``.
    private static func winogradTransform(phase p: Int) -> [[Double]] {
        let g: [[Double]] = [[1, 0], [1, 1], [0, 1]]
        let selection = tapSelection(phase: p)
        return g.map { row in (0..<3).map { r in row[0] * selection[0][r] + row[1] * selection[1][r] } }
    }

    /// The weights of ``convolveUpsampled(_:)`` for a PyTorch weight `[out, in, 3, 3]` at `stored`, by Winograd
    /// where `winograd` (``WinogradPhase``), else as shifted taps (``TapPhase``). Tap (a, b) of phase (py, px)
    /// reads the padded input shifted by (py + a, px + b); its `[in × out]` weight is the sum of the kernel rows and
    /// columns that land on it (rows and columns selected by S_py and S_px, ``tapSelection(phase:)``). By Winograd,
    /// phase p's rows (and columns) are transformed by G·S_p instead (``winogradTransform(phase:)``).
    static func upsampledMethod(_ stored: UnsafePointer<Float>, inChannels: Int, outChannels: Int, winograd: Bool,
                                precision: Precision, workspace: ConversionWorkspace) -> UpsampledMethod {
        let transforms = (0..<2).map { winograd ? winogradTransform(phase: $0) : tapSelection(phase: $0) }
        let phases = (0..<4).map { phase in
            let (py, px) = phase.quotientAndRemainder(dividingBy: 2)
            let weights = combinedKernelWeights(stored, rowTransform: transforms[py], columnTransform: transforms[px],
                                                inChannels: inChannels, outChannels: outChannels, precision: precision,
                                                workspace: workspace)
            return (py, px, weights)
        }
        if winograd {
            return .winograd(phases.map { WinogradPhase(row: $0, column: $1, kernelSize: 2, weights: $2) })
        }
        return .shiftedTaps(phases.map { py, px, weights in
            TapPhase(row: py, column: px, taps: weights.enumerated().map { tap, weight in
                let (a, b) = tap.quotientAndRemainder(dividingBy: 2)
                return (dy: py + a, dx: px + b, weight: weight)
            })
        })
    }
}
