import CKernels
import TensorCore

extension Conv2d {
    /// Output pixels computed by Winograd from one set of component weights: those at (s·y + row, s·x + column) for
    /// every input pixel (y, x), s being the output's size over the input's (1 for a plain 3×3 convolution; 2 for
    /// ``convolveUpsampled(_:)``, whose four phases are 2×2 convolutions of the input). Tile (i, j) reads the
    /// input, zero-padded by one pixel, from padded pixel (2i + row, 2j + column).
    struct WinogradPhase {
        let row: Int, column: Int
        /// 3: F(2×2, 3×3), 16 component weights; 2: F(2×2, 2×2), 9 (nn_winograd.c).
        let kernelSize: Int
        /// Component (a, b)'s `[in × out]` weight at a·(kernelSize + 1) + b.
        let weights: [PackedMatrix]
    }

    /// Floats of per-thread scratch a Winograd block aims for (its input window, transformed patches, products and
    /// output sums): 640 KiB, so that a block stays in a 1 MiB L2 while its 16 GEMMs run. (Variable for tests.)
    nonisolated(unsafe) static var winogradBlockFloats = 160 << 10
    /// The fewest tiles per block: one register tile of the GEMM kernels (12 rows on AVX-512). (Variable so that
    /// tests can cut small maps into blocks of a few tiles.)
    nonisolated(unsafe) static var minimumWinogradBlockTiles = 12
    /// Component weights up to this size stay in L3 (32 MiB, shared by the threads) from one block to the next.
    /// (Variable so that tests can split small convolutions' channels.)
    nonisolated(unsafe) static var winogradCachedWeightBytes = 16 << 20
    /// The fewest tiles per block for larger weights, which every block reads from memory again: enough products
    /// per weight read, although the block's scratch then spills out of L2 (128 rather than 48: 1.5–2 % off a
    /// 512² SD 1.5 bf16 step, where SD's 16² level is then one block per image, its channels split between threads).
    static let winogradStreamedBlockTiles = 128

    /// Tiles per Winograd block, at most: those whose input window (about 6 pixels per tile, the 4×4 patches
    /// overlapping), transformed patches, products and 4 output sums fit in ``winogradBlockFloats``, but at least
    /// ``minimumWinogradBlockTiles`` (``winogradStreamedBlockTiles`` for weights of more than
    /// ``winogradCachedWeightBytes``). `outChannels` are those of one channel block.
    static func winogradTilesPerBlock(inChannels: Int, outChannels: Int, weightBytes: Int) -> Int {
        let fitting = winogradBlockFloats / (7 * inChannels + 5 * outChannels)
        return max(fitting, winogradStreams(weightBytes: weightBytes) ? winogradStreamedBlockTiles : minimumWinogradBlockTiles)
    }

    /// Whether component weights of `weightBytes` are too large to stay in L3, so that every block reads them again.
    static func winogradStreams(weightBytes: Int) -> Bool { weightBytes > winogradCachedWeightBytes }

    /// The output channels of each Winograd task, whole panels of `columnTile` channels: all of them, or, for
    /// weights of more than ``winogradCachedWeightBytes`` (which every block of tiles reads from memory again), one
    /// share per thread. Each thread then reads its share of the weights for every block, and a map of few blocks
    /// (SD's 16² level: 64 tiles) still keeps every thread busy.
    static func winogradChannelBlocks(outChannels: Int, columnTile: Int, weightBytes: Int, threads: Int) -> [Range<Int>] {
        let panels = (outChannels + columnTile - 1) / columnTile
        let count = winogradStreams(weightBytes: weightBytes) ? max(1, min(threads, panels)) : 1
        return (0..<count).map { panels * $0 / count * columnTile ..< min(outChannels, panels * ($0 + 1) / count * columnTile) }
    }

    /// A 3×3, stride-1, padding-1 convolution by Winograd's F(2×2, 3×3) (nn_winograd.c), or the four phases of
    /// ``convolveUpsampled(_:)`` by F(2×2, 2×2): each 2×2 block of a phase's output pixels (a tile) comes from the
    /// 4×4 (or 3×3) input patch around it through 16 (or 9) GEMMs over channels instead of 9 (or 4) full ones — 16
    /// products per tile and channel pair where shifted taps make 36 (9 where they make 16).
    ///
    /// The tiles are cut into blocks of rows × columns, one block per task. A thread copies the block's padded
    /// input window (normalised on the way with `normalization`, zeros on the border), then for each phase and each
    /// of its components (a, b): transforms the window's patches into `V_ab` (`[tiles × in]`), multiplies it by the
    /// component's weight `U_ab` (`[in × out]`, ``winogradWeights(_:inChannels:outChannels:precision:workspace:)``)
    /// and adds the product into the tiles' four output sums; the sums plus the bias (and `imageBias`, `[B, out]`,
    /// and `residual`, laid out as the output, where given: ``Conv2d/Addends``) are then written out. Everything
    /// but the weights stays in the thread's cache.
    func convolveByWinograd(_ input: UnsafePointer<Float>, _ g: Geometry, phases: [WinogradPhase],
                            _ output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                            imageBias: UnsafePointer<Float>? = nil, residual: UnsafePointer<Float>? = nil,
                            normalization: GroupNorm.Affine?) {
        let (cIn, cOut) = (inChannels, outChannels)
        let scale = g.outHeight / g.height
        let (tileRows, tileColumns) = ((g.height + 1) / 2, (g.width + 1) / 2)
        let weights = phases.flatMap(\.weights)
        let weightBytes = weights.reduce(0) { $0 + $1.byteCount }
        let channelBlocks = Conv2d.winogradChannelBlocks(outChannels: cOut, columnTile: weights[0].columnTile,
                                                         weightBytes: weightBytes, threads: ThreadPool.shared.threadCount)
        let widest = channelBlocks.map(\.count).max() ?? cOut
        let limit = Conv2d.winogradTilesPerBlock(inChannels: cIn, outChannels: widest, weightBytes: weightBytes)
        let (blockRows, blockColumns) = Conv2d.winogradBlock(tileRows: tileRows, tileColumns: tileColumns, limit: limit,
                                                             rowTile: weights[0].rowTile,
                                                             computedRows: weights[0].computedRows)
        let (rowBlocks, columnBlocks) = ((tileRows + blockRows - 1) / blockRows, (tileColumns + blockColumns - 1) / blockColumns)
        let tiles = blockRows * blockColumns
        let windowWidth = 2 * blockColumns + 2
        let windowCount = (2 * blockRows + 2) * windowWidth * cIn
        let scratchCount = windowCount + tiles * (cIn + 5 * widest)

        // Task order: channel block fastest, so that threads claiming tasks in turn mostly keep to their channels.
        let tasks = g.batch * rowBlocks * columnBlocks * channelBlocks.count
        ThreadPool.shared.forEachTask(tasks, scratchCount: scratchCount) { task, scratch in
            let (tileTask, channelBlock) = task.quotientAndRemainder(dividingBy: channelBlocks.count)
            let (image, block) = tileTask.quotientAndRemainder(dividingBy: rowBlocks * columnBlocks)
            let (rowBlock, columnBlock) = block.quotientAndRemainder(dividingBy: columnBlocks)
            let firstRow = rowBlock * blockRows, firstColumn = columnBlock * blockColumns
            let rows = min(blockRows, tileRows - firstRow), columns = min(blockColumns, tileColumns - firstColumn)
            let channels = channelBlocks[channelBlock], width = channels.count
            let count = rows * columns
            let window = scratch, patches = window + windowCount, products = patches + count * cIn
            let sums = products + count * width
            let rowStride = (2 * columns + 2) * cIn
            copyWindow(input, g, image: image, paddedRows: 2 * firstRow ..< 2 * (firstRow + rows) + 2,
                       paddedColumns: 2 * firstColumn ..< 2 * (firstColumn + columns) + 2, into: window,
                       normalization: normalization)
            for phase in phases {
                let origin = window + phase.row * rowStride + phase.column * cIn
                let kernelSize = Int32(phase.kernelSize)
                sums.update(repeating: 0, count: 4 * count * width)
                for (component, weight) in phase.weights.enumerated() {
                    ck_nn_winograd_input(origin, rowStride, rows, columns, cIn, kernelSize, Int32(component), patches)
                    GEMM.sgemm(m: count, a: patches, lda: cIn, b: weight, columns: channels, c: products, ldc: width)
                    ck_nn_winograd_accumulate(products, count, width, kernelSize, Int32(component), sums)
                }
                let corner = (image * g.outHeight + scale * 2 * firstRow + phase.row) * g.outWidth
                    + scale * 2 * firstColumn + phase.column
                let first = corner * cOut + channels.lowerBound
                ck_nn_winograd_store(sums, rows, columns, width, bias + channels.lowerBound,
                                     imageBias.map { $0 + image * cOut + channels.lowerBound }, residual.map { $0 + first },
                                     output + first, scale * g.outWidth * cOut, scale * cOut,
                                     min(2 * rows, g.height - 2 * firstRow), min(2 * columns, g.width - 2 * firstColumn))
            }
        }
    }

    /// The block of tiles (rows × columns, at most `limit` tiles) for a map of `tileRows` × `tileColumns` tiles.
    /// A block's GEMMs cost the rows they compute (`computedRows` of its tile count: whole register tiles) and each
    /// block reads all the weights once, which costs about one more register tile (`rowTile` rows), so the block
    /// chosen minimises those rows over the whole map (the larger among equals).
    static func winogradBlock(tileRows: Int, tileColumns: Int, limit: Int, rowTile: Int,
                              computedRows: (Int) -> Int) -> (rows: Int, columns: Int) {
        var best = (rows: 1, columns: 1, cost: Int.max)
        for columns in 1 ... max(1, min(tileColumns, limit)) {
            let rows = max(1, min(tileRows, limit / columns))
            var cost = 0
            for first in Swift.stride(from: 0, to: tileRows, by: rows) {
                for left in Swift.stride(from: 0, to: tileColumns, by: columns) {
                    let tiles = min(rows, tileRows - first) * min(columns, tileColumns - left)
                    cost += computedRows(tiles) + rowTile
                }
            }
            if cost < best.cost || (cost == best.cost && rows * columns > best.rows * best.columns) {
                best = (rows, columns, cost)
            }
        }
        return (best.rows, best.columns)
    }

    /// Writes the block `paddedRows` × `paddedColumns` of image `image` of the input zero-padded by one pixel into
    /// `window` (rows of `paddedColumns.count` pixels): the input's pixels, normalised with `normalization`, and
    /// zeros outside it (rows and columns past the padded map included, for odd sizes).
    private func copyWindow(_ input: UnsafePointer<Float>, _ g: Geometry, image: Int, paddedRows: Range<Int>,
                            paddedColumns: Range<Int>, into window: UnsafeMutablePointer<Float>,
                            normalization: GroupNorm.Affine?) {
        let paddedWidth = g.width + 2
        let inside = paddedColumns.clamped(to: 0 ..< paddedWidth)
        for (index, row) in paddedRows.enumerated() {
            let destination = window + index * paddedColumns.count * inChannels
            copyPadded(input, g, image: image, pixels: row * paddedWidth + inside.lowerBound ..< row * paddedWidth + inside.upperBound,
                       into: destination, normalization: normalization)
            (destination + inside.count * inChannels).update(repeating: 0, count: (paddedColumns.count - inside.count) * inChannels)
        }
    }

    /// Winograd's G for F(2×2, 3×3) (nn_winograd.c).
    private static let winogradG: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]

    /// The F(2×2, 3×3) phase of a PyTorch 3×3 weight `[out, in, 3, 3]` at `stored`: its 16 component weights
    /// `U_ab = (G g Gᵀ)[a][b]` (``combinedKernelWeights(_:rowTransform:columnTransform:inChannels:outChannels:precision:workspace:)``).
    static func winogradWeights(_ stored: UnsafePointer<Float>, inChannels: Int, outChannels: Int,
                                precision: Precision, workspace: ConversionWorkspace) -> WinogradPhase {
        WinogradPhase(row: 0, column: 0, kernelSize: 3,
                      weights: combinedKernelWeights(stored, rowTransform: winogradG, columnTransform: winogradG,
                                                     inChannels: inChannels, outChannels: outChannels,
                                                     precision: precision, workspace: workspace))
    }

    /// Weights that combine a 3×3 kernel's taps, `U_ab = Σ R[a][r] C[b][c] g[r][c]` (a·n + b, n = the transforms'
    /// row count), for a PyTorch weight `[out, in, 3, 3]` at `stored`, a row transform R and a column transform C
    /// (n × 3): Winograd's components (R = C = G) and the summed taps of ``convolveUpsampled(_:)``'s phases. Each is
    /// packed as an `[in × out]` GEMM operand; summed in double precision and rounded once (every coefficient is a
    /// small multiple of ½, so each product is exact).
    static func combinedKernelWeights(_ stored: UnsafePointer<Float>, rowTransform: [[Double]],
                                      columnTransform: [[Double]], inChannels: Int, outChannels: Int,
                                      precision: Precision, workspace: ConversionWorkspace) -> [PackedMatrix] {
        let n = rowTransform.count
        return workspace.withBuffer(count: outChannels * inChannels) { component in
            (0 ..< n * n).map { index in
                let (a, b) = index.quotientAndRemainder(dividingBy: n)
                let coefficients = (0..<9).map { rowTransform[a][$0 / 3] * columnTransform[b][$0 % 3] }  // of g[r][c], at 3r + c
                coefficients.withUnsafeBufferPointer { coefficient in
                    ThreadPool.shared.parallelRanges(outChannels, grain: 16) { range in
                        for pair in range.lowerBound * inChannels ..< range.upperBound * inChannels {
                            let kernel = stored + pair * 9
                            var sum = 0.0
                            for tap in 0..<9 { sum += coefficient[tap] * Double(kernel[tap]) }
                            component[pair] = Float(sum)
                        }
                    }
                }
                return PackedMatrix(k: inChannels, n: outChannels, b: component, ldb: inChannels, transposed: true,
                                    precision: precision)
            }
        }
    }
}
