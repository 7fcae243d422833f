extension Tensor {
    /// `axis` as an index into `shape`: `0..<rank`, or counted from the end when negative (`-1` is the last axis).
    /// - Throws: ``TensorError/invalidArgument(_:)`` naming `operation` when it is out of range.
    func resolvedAxis(_ axis: Int, _ operation: String) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0 && resolved < rank else {
            throw TensorError.invalidArgument("\(operation): axis \(axis) is out of range for shape \(shape)")
        }
        return resolved
    }
}

/// Maps the `i`-th index of a row-major walk over `sizes` to an element offset through `strides`
/// (a stride of 0 repeats the same elements along that axis).
struct StridedWalk {
    /// The dimensions walked, outermost first.
    let sizes: [Int]
    /// The element stride of each dimension.
    let strides: [Int]
    /// The number of indices in the walk.
    var count: Int { sizes.reduce(1, *) }

    /// The offset of the `index`-th position of the walk.
    func offset(of index: Int) -> Int {
        var (remaining, offset) = (index, 0)
        for axis in sizes.indices.reversed() {
            offset += remaining % sizes[axis] * strides[axis]
            remaining /= sizes[axis]
        }
        return offset
    }
}
