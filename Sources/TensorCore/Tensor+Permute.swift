import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// The tensor with its axes reordered: dimension `i` of the result is dimension `axes[i]` of `self`
    /// (PyTorch's `permute`). For example `[0, 2, 3, 1]` turns NCHW into NHWC and `[0, 2, 1, 3]` turns
    /// `[B, N, heads, d]` into `[B, heads, N, d]`. The result is contiguous; when the order of the elements does not
    /// change (only size-1 axes move) it shares `self`'s storage.
    /// - Throws: ``TensorError/invalidArgument(_:)`` when `axes` is not a permutation of `0..<rank`.
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.sorted() == Array(0..<rank) else {
            throw TensorError.invalidArgument("permute: \(axes) is not a permutation of the axes of shape \(shape)")
        }
        let outputShape = axes.map { shape[$0] }
        let plan = PermutePlan(shape: shape, axes: axes)
        if plan.keepsOrder { return try reshaped(outputShape) }
        var result = Tensor(uninitialized: outputShape)
        result.withUnsafeMutableBufferPointer { out in
            withUnsafeBufferPointer { input in plan.copy(from: input.baseAddress!, to: out.baseAddress!) }
        }
        return result
    }

    /// The tensor with two axes swapped (negative axes count from the end).
    /// - Throws: ``TensorError/invalidArgument(_:)`` when an axis is out of range.
    public func transposed(_ axis0: Int, _ axis1: Int) throws -> Tensor {
        let (first, second) = (try resolvedAxis(axis0, "transpose"), try resolvedAxis(axis1, "transpose"))
        var axes = Array(0..<rank)
        axes.swapAt(first, second)
        return try permuted(axes)
    }
}

/// A permutation reduced to its simplest equivalent: size-1 axes dropped and axes that stay neighbours merged.
///
/// Two cases remain. When the last input axis stays last, the copy is a gather of contiguous rows. Otherwise it is
/// a batch of strided 2-D transposes between the last input axis and the input axis that becomes the last output
/// axis, done in cache-sized tiles by the C kernel.
private struct PermutePlan {
    /// Input dimensions after merging, and for each output axis the merged input axis it reads.
    var sizes: [Int] = []
    var axes: [Int] = []

    init(shape: [Int], axes permutation: [Int]) {
        // Drop size-1 axes (renumbering the rest), then merge output neighbours that are input neighbours.
        let kept = permutation.filter { shape[$0] != 1 }
        let renumber = Dictionary(uniqueKeysWithValues: kept.sorted().enumerated().map { ($1, $0) })
        var runs: [[Int]] = []
        for axis in kept.map({ renumber[$0]! }) {
            if let last = runs.last?.last, axis == last + 1 { runs[runs.count - 1].append(axis) } else { runs.append([axis]) }
        }
        let keptSizes = shape.filter { $0 != 1 }
        let order = runs.indices.sorted { runs[$0][0] < runs[$1][0] }  // merged input axes, in input order
        sizes = order.map { runs[$0].map { keptSizes[$0] }.reduce(1, *) }
        var inputAxisOfRun = [Int](repeating: 0, count: runs.count)
        for (inputAxis, run) in order.enumerated() { inputAxisOfRun[run] = inputAxis }
        axes = inputAxisOfRun
    }

    /// True when the permutation leaves the elements in place (a reshape suffices).
    var keepsOrder: Bool { axes == Array(axes.indices) }

    /// Writes the permuted elements of `source` to `destination`.
    func copy(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>) {
        guard !sizes.contains(0) else { return }
        if axes.last == sizes.count - 1 {
            gatherRows(from: source, to: destination)
        } else {
            transposeTiles(from: source, to: destination)
        }
    }

    private static func rowMajorStrides(_ sizes: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: sizes.count)
        for axis in sizes.indices.dropLast().reversed() { strides[axis] = strides[axis + 1] * sizes[axis + 1] }
        return strides
    }

    /// The last axis stays last: each output row (over the other output axes) is a contiguous run of the input.
    private func gatherRows(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>) {
        let inputStrides = Self.rowMajorStrides(sizes)
        let inner = sizes[sizes.count - 1]
        let rows = StridedWalk(sizes: axes.dropLast().map { sizes[$0] }, strides: axes.dropLast().map { inputStrides[$0] })
        ThreadPool.shared.parallelRanges(rows.count, grain: max(1, Tensor.elementwiseGrain / inner)) { range in
            for row in range {
                memcpy(destination + row * inner, source + rows.offset(of: row), inner * MemoryLayout<Float>.stride)
            }
        }
    }

    /// The last axis moves: strided 2-D transposes, in tiles, between the input axis that becomes the output's last
    /// (the tile rows) and the input's last axis (the tile columns), for every index of the remaining axes.
    private func transposeTiles(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>) {
        let last = sizes.count - 1
        let outputSizes = axes.map { sizes[$0] }
        let (inputStrides, outputStrides) = (Self.rowMajorStrides(sizes), Self.rowMajorStrides(outputSizes))
        let rowAxis = axes[last], columnOutputAxis = axes.firstIndex(of: last)!
        let (rows, columns) = (sizes[rowAxis], sizes[last])
        let (sourceLD, destinationLD) = (inputStrides[rowAxis], outputStrides[columnOutputAxis])
        let others = axes.indices.filter { $0 != last && $0 != columnOutputAxis }
        let sourceWalk = StridedWalk(sizes: others.map { outputSizes[$0] }, strides: others.map { inputStrides[axes[$0]] })
        let destinationWalk = StridedWalk(sizes: others.map { outputSizes[$0] }, strides: others.map { outputStrides[$0] })

        let tile = 128
        let (rowTiles, columnTiles) = ((rows + tile - 1) / tile, (columns + tile - 1) / tile)
        let tiles = sourceWalk.count * rowTiles * columnTiles
        let elementsPerTile = rows * columns / (rowTiles * columnTiles)
        ThreadPool.shared.parallelRanges(tiles, grain: max(1, Tensor.elementwiseGrain / elementsPerTile)) { range in
            for task in range {
                let (block, columnTile) = task.quotientAndRemainder(dividingBy: columnTiles)
                let (index, rowTile) = block.quotientAndRemainder(dividingBy: rowTiles)
                let (row, column) = (rowTile * tile, columnTile * tile)
                ck_transpose_f32(source + sourceWalk.offset(of: index) + row * sourceLD + column, sourceLD,
                                 destination + destinationWalk.offset(of: index) + column * destinationLD + row, destinationLD,
                                 min(tile, rows - row), min(tile, columns - column))
            }
        }
    }
}
