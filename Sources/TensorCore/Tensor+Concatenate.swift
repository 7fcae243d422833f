#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Tensor {
    /// The tensors joined along `axis` (negative counts from the end): every other dimension must agree.
    /// - Throws: ``TensorError/invalidArgument(_:)`` for an empty list or a bad axis,
    ///   ``TensorError/shapeMismatch(_:)`` when ranks or the other dimensions differ.
    public static func concatenated(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError.invalidArgument("concatenate: no tensors to join") }
        let axis = try first.resolvedAxis(axis, "concatenate")
        func otherDimensions(_ tensor: Tensor) -> [Int] { tensor.shape.enumerated().filter { $0.offset != axis }.map(\.element) }
        guard tensors.allSatisfy({ $0.rank == first.rank && otherDimensions($0) == otherDimensions(first) }) else {
            throw TensorError.shapeMismatch("concatenate along axis \(axis): shapes \(tensors.map(\.shape)) differ off that axis")
        }
        var shape = first.shape
        shape[axis] = tensors.map { $0.shape[axis] }.reduce(0, +)
        var result = Tensor(uninitialized: shape)
        let outer = shape[..<axis].reduce(1, *)
        let runs = tensors.map { $0.count / max(outer, 1) }  // elements of each tensor per outer index
        let offsets = runs.indices.map { runs[..<$0].reduce(0, +) }
        let stride = runs.reduce(0, +)
        let tasks = outer * tensors.count  // one run of one tensor each
        let grain = max(1, elementwiseGrain / max(1, result.count / max(tasks, 1)))
        result.withUnsafeMutableBufferPointer { out in
            let destination = out.baseAddress!
            ThreadPool.shared.parallelRanges(tasks, grain: grain) { tasks in
                for task in tasks {
                    let (index, part) = task.quotientAndRemainder(dividingBy: tensors.count)
                    tensors[part].withUnsafeBufferPointer { source in
                        copyFloats(from: source.baseAddress! + index * runs[part], to: destination + index * stride + offsets[part], count: runs[part])
                    }
                }
            }
        }
        return result
    }

    /// The elements whose index along `axis` (negative counts from the end) lies in `range`, as a new tensor.
    /// - Throws: ``TensorError/invalidArgument(_:)`` for a bad axis or a range outside `0...shape[axis]`.
    public func sliced(_ range: Range<Int>, axis: Int) throws -> Tensor {
        let axis = try resolvedAxis(axis, "slice")
        guard range.lowerBound >= 0 && range.upperBound <= shape[axis] else {
            throw TensorError.invalidArgument("slice: range \(range) is out of bounds for axis \(axis) of shape \(shape)")
        }
        var resultShape = shape
        resultShape[axis] = range.count
        var result = Tensor(uninitialized: resultShape)
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let (run, stride) = (range.count * inner, shape[axis] * inner)
        result.withUnsafeMutableBufferPointer { out in
            withUnsafeBufferPointer { input in
                let (source, destination) = (input.baseAddress! + range.lowerBound * inner, out.baseAddress!)
                ThreadPool.shared.parallelRanges(outer, grain: max(1, Tensor.elementwiseGrain / max(run, 1))) { rows in
                    for row in rows { Tensor.copyFloats(from: source + row * stride, to: destination + row * run, count: run) }
                }
            }
        }
        return result
    }

    private static func copyFloats(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        if count > 0 { memcpy(destination, source, count * MemoryLayout<Float>.stride) }
    }
}
