import CKernels
import TensorCore

extension Tensor {
    /// The transpose of a matrix stored as `rows × columns` (the first dimension against the product of the rest),
    /// as a `[columns, rows]` tensor: weights are packed from it, because packing rows is a plain copy where
    /// packing columns of the stored matrix is a strided gather.
    func transposedMatrix() -> Tensor {
        let rows = shape.first ?? 1
        let columns = count / Swift.max(rows, 1)
        var result = Tensor(uninitialized: [columns, rows])
        withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                let (from, to) = (source.baseAddress!, destination.baseAddress!)
                ThreadPool.shared.parallelRanges(rows, grain: Swift.max(1, 65536 / Swift.max(columns, 1))) { range in
                    ck_transpose_f32(from + range.lowerBound * columns, columns, to + range.lowerBound, rows,
                                     range.count, columns)
                }
            }
        }
        return result
    }
}
