import CKernels

extension Tensor {
    /// What ``reducedAlongLastAxis(_:)`` computes over each run of the last axis.
    public enum Reduction: String, Sendable, CaseIterable {
        /// The sum (0 for an empty axis).
        case sum
        /// The arithmetic mean.
        case mean
        /// The largest element; NaN when the run holds a NaN.
        case max
        /// The Euclidean norm, `sqrt(sum of squares)` (0 for an empty axis).
        case l2Norm
    }

    /// Reduces the last axis: `[..., n]` becomes `[...]`, each element the reduction of one run of `n` elements.
    /// Reshape the result to `[..., 1]` to broadcast it back against the input.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a scalar (rank 0), or for `mean` and `max` of an empty axis.
    public func reducedAlongLastAxis(_ reduction: Reduction) throws -> Tensor {
        guard let length = shape.last else {
            throw TensorError.shapeMismatch("reduce \(reduction.rawValue): a scalar has no last axis to reduce")
        }
        guard length > 0 || reduction == .sum || reduction == .l2Norm else {
            throw TensorError.shapeMismatch("reduce \(reduction.rawValue): the last axis of shape \(shape) is empty")
        }
        var result = Tensor(zeros: Array(shape.dropLast()))
        guard length > 0 else { return result }
        result.withUnsafeMutableBufferPointer { out in
            withUnsafeBufferPointer { input in
                let (source, destination) = (input.baseAddress!, out.baseAddress!)
                ThreadPool.shared.parallelRanges(out.count, grain: max(1, Tensor.elementwiseGrain / length)) { rows in
                    for row in rows {
                        let run = source + row * length
                        switch reduction {
                        case .sum: destination[row] = ck_sum_f32(run, length)
                        case .mean: destination[row] = ck_sum_f32(run, length) / Float(length)
                        case .max: destination[row] = ck_max_f32(run, length)
                        case .l2Norm: destination[row] = ck_sum_squares_f32(run, length).squareRoot()
                        }
                    }
                }
            }
        }
        return result
    }
}
