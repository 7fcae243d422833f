import CKernels
import TensorCore

extension Tensor {
    /// Calls `body` with the transpose of this tensor seen as a `rows × columns` matrix (the first dimension
    /// against the product of the rest): `[columns, rows]`, row-major, in `workspace` (valid only inside `body`).
    /// Weights are packed from it, because packing rows is a plain copy where packing columns of the stored
    /// matrix is a strided gather.
    func withTransposedMatrix<R>(in workspace: ConversionWorkspace, _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        let rows = shape.first ?? 1
        let columns = count / Swift.max(rows, 1)
        return try workspace.withBuffer(count: count) { destination in
            withUnsafeBufferPointer { source in
                let from = source.baseAddress!
                ThreadPool.shared.parallelRanges(rows, grain: Swift.max(1, 65536 / Swift.max(columns, 1))) { range in
                    ck_transpose_f32(from + range.lowerBound * columns, columns, destination + range.lowerBound, rows,
                                     range.count, columns)
                }
            }
            return try body(destination)
        }
    }
}
