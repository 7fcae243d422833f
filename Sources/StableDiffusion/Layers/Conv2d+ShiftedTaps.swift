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
    /// The input is copied into a zero-padded buffer `[B, H + 2p, W + 2p, C]`. In one image of that buffer, with
    /// rows numbered v = y·(W + 2p) + x, a phase's output for input pixel (y, x) is Σ over its taps of row
    /// v + dy·(W + 2p) + dx times the tap's `[C × out]` weight: so each tap is a GEMM over a shifted view of the
    /// buffer (row stride C), and the rows with x ≥ W are computed and dropped. Each thread accumulates a phase's
    /// products for a tile of rows in a buffer, then copies the valid rows out.
    func convolveByShiftedTaps(_ input: UnsafePointer<Float>, _ g: Geometry, phases: [TapPhase],
                               _ output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>) {
        let (p, c) = (kernelSize / 2, inChannels)
        let scale = g.outHeight / g.height
        let (paddedHeight, paddedWidth) = (g.height + 2 * p, g.width + 2 * p)
        let imageFloats = paddedHeight * paddedWidth * c
        let paddedStorage = TensorStorage(count: g.batch * imageFloats, zeroed: false)  // reused across calls
        defer { withExtendedLifetime(paddedStorage) {} }
        let padded = paddedStorage.pointer
        copyPadded(input, g, into: padded)

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
        ThreadPool.shared.forEachTask(tasks, scratchCount: tileRows * outChannels) { task, accumulator in
            let (image, tile) = task.quotientAndRemainder(dividingBy: tilesPerImage)
            let first = tile * tileRows
            let rows = min(tileRows, rowsPerImage - first)
            let source = padded + image * imageFloats + first * c
            for phase in phases {
                for (index, tap) in phase.taps.enumerated() {
                    GEMM.sgemm(m: rows, a: source + (tap.dy * paddedWidth + tap.dx) * c, lda: c, b: tap.weight,
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

    /// Copies `input` into the middle of `padded` (`[B, H + 2p, W + 2p, C]`) and zeroes the border.
    private func copyPadded(_ input: UnsafePointer<Float>, _ g: Geometry, into padded: UnsafeMutablePointer<Float>) {
        let (p, c) = (kernelSize / 2, inChannels)
        let (paddedHeight, paddedWidth) = (g.height + 2 * p, g.width + 2 * p)
        ThreadPool.shared.parallelRanges(g.batch * paddedHeight, grain: 8) { rows in
            for row in rows {
                let (image, py) = row.quotientAndRemainder(dividingBy: paddedHeight)
                let destination = padded + row * paddedWidth * c
                let y = py - p
                guard y >= 0 && y < g.height else {
                    destination.update(repeating: 0, count: paddedWidth * c)
                    continue
                }
                destination.update(repeating: 0, count: p * c)
                (destination + p * c).update(from: input + (image * g.height + y) * g.width * c, count: g.width * c)
                (destination + (p + g.width) * c).update(repeating: 0, count: p * c)
            }
        }
    }
}
