/// Single-precision matrix multiplication on raw, row-major memory:
/// `C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C`.
///
/// `op(X)` is `X` or its transpose; `lda`, `ldb`, `ldc` are the row strides (in elements) of the matrices as stored.
public enum GEMM {
    /// Computes `C = alpha · op(A) · op(B) + beta · C`. With `beta == 0`, `C` is only written, never read.
    ///
    /// - Parameters:
    ///   - transA: `A` is stored as `[k×m]` and used transposed.
    ///   - transB: `B` is stored as `[n×k]` and used transposed (the PyTorch `Linear` weight layout).
    ///   - pool: threads to spread the work over.
    public static func sgemm(
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        pool: ThreadPool = .shared
    ) {
        // Reference implementation; replaced by the packed, blocked, threaded driver.
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p]
                    let y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += x * y
                }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
