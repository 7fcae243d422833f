import TensorCore

extension Conv2d {
    /// Patch floats gathered per im2col tile (about a megabyte), unless that is fewer than ``minimumPatchTileRows`` rows.
    static let patchTileFloats = 1 << 18
    /// The fewest output pixels per im2col tile, so that deep patches still make a GEMM worth its packed weight.
    static let minimumPatchTileRows = 96

    /// im2col tile by tile: each thread gathers the patches of a tile of output pixels into its own buffer and
    /// multiplies them by the packed weight, writing that tile of the output. Several tiles come in a multiple of
    /// the thread count, of equal sizes (one tile's GEMM spreads over the threads itself).
    func convolveByPatches(_ input: UnsafePointer<Float>, _ g: Geometry, weight: PackedMatrix,
                           _ output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>) {
        let patchSize = weight.k
        let limit = max(Conv2d.minimumPatchTileRows, Conv2d.patchTileFloats / patchSize)
        let threads = ThreadPool.shared.threadCount
        var tiles = (g.outputPixels + limit - 1) / limit
        if tiles > 1 { tiles = (tiles + threads - 1) / threads * threads }
        let tileRows = (g.outputPixels + tiles - 1) / tiles
        tiles = (g.outputPixels + tileRows - 1) / tileRows  // rounding tileRows up can leave trailing tiles empty
        ThreadPool.shared.forEachTask(tiles, scratchCount: tileRows * patchSize) { tile, patches in
            let first = tile * tileRows
            let rows = min(tileRows, g.outputPixels - first)
            gatherPatches(input, g, pixels: first ..< first + rows, into: patches)
            GEMM.sgemm(m: rows, a: patches, lda: patchSize, b: weight, c: output + first * outChannels,
                       ldc: outChannels, bias: bias)
        }
    }

    /// im2col: row i of `patches` is the input patch under output pixel `pixels.lowerBound + i` (pixels numbered
    /// (b, oy, ox) row-major), zero outside the image.
    private func gatherPatches(_ input: UnsafePointer<Float>, _ g: Geometry, pixels: Range<Int>,
                               into patches: UnsafeMutablePointer<Float>) {
        let (k, s, c, top, left) = (kernelSize, stride, inChannels, padding.top, padding.left)
        var destination = patches
        for pixel in pixels {
            let (image, position) = pixel.quotientAndRemainder(dividingBy: g.outHeight * g.outWidth)
            let (oy, ox) = position.quotientAndRemainder(dividingBy: g.outWidth)
            for ky in 0..<k {
                let iy = oy * s - top + ky
                for kx in 0..<k {
                    let ix = ox * s - left + kx
                    if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                        destination.update(from: input + ((image * g.height + iy) * g.width + ix) * c, count: c)
                    } else {
                        destination.update(repeating: 0, count: c)
                    }
                    destination += c
                }
            }
        }
    }
}
