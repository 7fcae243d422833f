import TensorCore

extension Conv2d {
    /// Output floats accumulated per shifted-tap tile: half a megabyte, so the tile stays in L2 across the taps.
    static let tapTileFloats = 1 << 17
    /// The fewest rows per shifted-tap tile.
    static let minimumTapTileRows = 48

    /// Output pixels made of one sum of shifted taps: those at (s·y + row, s·x + column) for every input pixel (y, x),
    /// s being the output's size over the input's (1, or 2 for ``convolveUpsampled(_:)``). Tap t reads the padded
    /// input shifted by (dy, dx).
    struct TapPhase {
        let row: Int, column: Int
        let taps: [(dy: Int, dx: Int, weight: PackedMatrix)]
    }

    /// A stride-1 convolution with padding k/2 as a sum of k² GEMMs, without a patch matrix (one phase, the taps
    /// (ky, kx)); ``convolveUpsampled(_:)`` runs four phases of four taps through the same loop.
    ///
    /// Think of the input zero-padded to `[B, H + 2p, W + 2p, C]`. In one image of it, with pixels numbered
    /// v = y·(W + 2p) + x, a phase's output for input pixel (y, x) is Σ over its taps of pixel v + dy·(W + 2p) + dx
    /// times the tap's `[C × out]` weight: so each tap is a GEMM over a shifted view of the padded pixels (row
    /// stride C), and the pixels with x ≥ W are computed and dropped. The work is cut into tiles of consecutive v;
    /// for each, a thread copies the padded pixels the tile's taps read (the tile and the farthest tap's reach past
    /// it) into a window of its own, zeros for the border (normalised on the way with `normalization`: the padding
    /// comes after the norm), accumulates a phase's products for the tile in a buffer, then copies the valid rows
    /// out. No padded copy of the whole input is made, and the window is read from cache by every tap.
    func convolveByShiftedTaps(_ input: UnsafePointer<Float>, _ g: Geometry, phases: [TapPhase],
                               _ output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                               normalization: GroupNorm.Affine? = nil) {
        let c = inChannels
        let scale = g.outHeight / g.height
        let paddedWidth = g.width + 2 * (kernelSize / 2)
        let reach = phases.flatMap(\.taps).map { $0.dy * paddedWidth + $0.dx }.max() ?? 0

        let rowsPerImage = (g.height - 1) * paddedWidth + g.width  // up to the last valid output pixel
        let tileLimit = max(Conv2d.minimumTapTileRows, Conv2d.tapTileFloats / outChannels)
        let threads = ThreadPool.shared.threadCount
        var tilesPerImage = (rowsPerImage + tileLimit - 1) / tileLimit
        while (g.batch * tilesPerImage) % threads != 0 && rowsPerImage / (tilesPerImage + 1) >= Conv2d.minimumTapTileRows {
            tilesPerImage += 1  // an even share per thread
        }
        let tileRows = (rowsPerImage + tilesPerImage - 1) / tilesPerImage
        tilesPerImage = (rowsPerImage + tileRows - 1) / tileRows  // rounding tileRows up can leave trailing tiles empty
        let tasks = g.batch * tilesPerImage
        let accumulatorCount = tileRows * outChannels
        ThreadPool.shared.forEachTask(tasks, scratchCount: accumulatorCount + (tileRows + reach) * c) { task, scratch in
            let (accumulator, window) = (scratch, scratch + accumulatorCount)
            let (image, tile) = task.quotientAndRemainder(dividingBy: tilesPerImage)
            let first = tile * tileRows
            let rows = min(tileRows, rowsPerImage - first)
            copyPadded(input, g, image: image, pixels: first ..< first + rows + reach, into: window,
                       normalization: normalization)
            for phase in phases {
                for (index, tap) in phase.taps.enumerated() {
                    GEMM.sgemm(m: rows, a: window + (tap.dy * paddedWidth + tap.dx) * c, lda: c, b: tap.weight,
                               beta: index == 0 ? 0 : 1, c: accumulator, ldc: outChannels, bias: index == 0 ? bias : nil)
                }
                for row in first ..< first + rows {
                    let (y, x) = row.quotientAndRemainder(dividingBy: paddedWidth)
                    guard x < g.width else { continue }
                    let pixel = (image * g.outHeight + scale * y + phase.row) * g.outWidth + scale * x + phase.column
                    (output + pixel * outChannels).update(from: accumulator + (row - first) * outChannels, count: outChannels)
                }
            }
        }
    }

    /// Writes padded pixels `pixels` (numbered as in ``convolveByShiftedTaps(_:_:phases:_:bias:normalization:)``)
    /// of image `image` of the zero-padded input into `window`: the input's pixels, normalised with
    /// `normalization`, and zeros on the border.
    func copyPadded(_ input: UnsafePointer<Float>, _ g: Geometry, image: Int, pixels: Range<Int>,
                            into window: UnsafeMutablePointer<Float>, normalization: GroupNorm.Affine?) {
        let (p, c) = (kernelSize / 2, inChannels)
        let paddedWidth = g.width + 2 * p
        var v = pixels.lowerBound
        while v < pixels.upperBound {
            let (row, column) = v.quotientAndRemainder(dividingBy: paddedWidth)
            let segment = column ..< column + min(pixels.upperBound - v, paddedWidth - column)  // this row's part
            let destination = window + (v - pixels.lowerBound - column) * c  // where column 0 of the row would go
            let y = row - p
            let inside = y >= 0 && y < g.height ? segment.clamped(to: p ..< p + g.width) : segment.upperBound ..< segment.upperBound
            (destination + segment.lowerBound * c).update(repeating: 0, count: (inside.lowerBound - segment.lowerBound) * c)
            if !inside.isEmpty {
                let source = input + ((image * g.height + y) * g.width + inside.lowerBound - p) * c
                if let normalization {
                    normalization.apply(source, destination + inside.lowerBound * c, pixels: inside.count, item: image)
                } else {
                    (destination + inside.lowerBound * c).update(from: source, count: inside.count * c)
                }
            }
            (destination + inside.upperBound * c).update(repeating: 0, count: (segment.upperBound - inside.upperBound) * c)
            v += segment.count
        }
    }
}
