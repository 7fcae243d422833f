extension Tensor {
    /// The batched matrix product `alpha · op(a) · op(b)` over the last two dimensions.
    ///
    /// `a` is `[..., m, k]` (`[..., k, m]` with `transposeA`) and `b` is `[..., k, n]` (`[..., n, k]` with
    /// `transposeB`); the result is `[..., m, n]`. The leading (batch) dimensions must be equal, or one side may
    /// have none or only 1s, and is then shared by every batch entry. Attention scores, for example, are
    /// `matmul(q, k, transposeB: true)` with `q` `[B·heads, N, d]` and `k` `[B·heads, M, d]`.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a rank below 2, inner sizes that differ, or batch
    ///   dimensions that neither match nor broadcast.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                              alpha: Float = 1, pool: ThreadPool = .shared) throws -> Tensor {
        guard a.rank >= 2, b.rank >= 2 else {
            throw TensorError.shapeMismatch("matmul needs tensors of rank at least 2, got \(a.shape) and \(b.shape)")
        }
        let (m, k) = transposeA ? (a.shape[a.rank - 1], a.shape[a.rank - 2]) : (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (bk, n) = transposeB ? (b.shape[b.rank - 1], b.shape[b.rank - 2]) : (b.shape[b.rank - 2], b.shape[b.rank - 1])
        guard k == bk else {
            throw TensorError.shapeMismatch("matmul inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "") (\(k) vs \(bk))")
        }
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        let aShared = aBatch.reduce(1, *) == 1, bShared = bBatch.reduce(1, *) == 1
        guard aBatch == bBatch || aShared || bShared else {
            throw TensorError.shapeMismatch("matmul batch dimensions \(aBatch) and \(bBatch) neither match nor broadcast")
        }
        let batchShape: [Int]
        if aBatch == bBatch || (bShared && !aShared) {
            batchShape = aBatch
        } else if aShared && !bShared {
            batchShape = bBatch
        } else {
            batchShape = aBatch.count >= bBatch.count ? aBatch : bBatch
        }
        let batches = batchShape.reduce(1, *)
        var result = Tensor(uninitialized: batchShape + [m, n])
        let lda = max(1, transposeA ? m : k), ldb = max(1, transposeB ? k : n)
        let (aStride, bStride) = (aShared ? 0 : m * k, bShared ? 0 : k * n)
        let (aBase, bBase) = (a.storage.pointer, b.storage.pointer)
        result.withUnsafeMutableBufferPointer { buffer in
            guard let c = buffer.baseAddress else { return }
            if bShared && !transposeA {
                // Every batch entry multiplies the same B: one product with the batch folded into the rows.
                GEMM.sgemm(m: batches * m, n: n, k: k, alpha: alpha, a: aBase, lda: lda, b: bBase, ldb: ldb,
                           transB: transposeB, c: c, ldc: max(1, n), pool: pool)
                return
            }
            // A shared B (with a transposed A, which cannot be folded) is packed once for every batch entry.
            let sharedB = bShared ? PackedMatrix(k: k, n: n, b: bBase, ldb: ldb, transposed: transposeB, pool: pool) : nil
            let one = { (batch: Int) in
                let (aEntry, cEntry) = (aBase + batch * aStride, c + batch * m * n)
                if let sharedB {
                    GEMM.sgemm(m: m, alpha: alpha, a: aEntry, lda: lda, transA: transposeA, b: sharedB,
                               c: cEntry, ldc: max(1, n), pool: pool)
                } else {
                    GEMM.sgemm(m: m, n: n, k: k, alpha: alpha, a: aEntry, lda: lda, transA: transposeA,
                               b: bBase + batch * bStride, ldb: ldb, transB: transposeB, c: cEntry, ldc: max(1, n),
                               pool: pool)
                }
            }
            // Small products run one per thread (each serially: the pool does not nest); large ones one after
            // another, each spread over the whole pool.
            if batches >= pool.threadCount && 2 * m * n * k < Tensor.minFlopsPerParallelProduct {
                pool.parallelFor(batches, one)
            } else {
                for batch in 0..<batches { one(batch) }
            }
        }
        return result
    }

    /// Below this many floating-point operations, a batched product runs its batch entries in parallel rather
    /// than parallelising each entry.
    static let minFlopsPerParallelProduct = 1 << 24

    /// `self · B + bias` for `self` `[..., k]` and a packed `B` (`[k×n]`): the result is `[..., n]`. With a
    /// transposed `Linear` weight packed into `weight`, this is the layer's forward pass.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when the last dimension is not `weight.k` or `bias` is not `[n]`.
    public func matmul(_ weight: PackedMatrix, bias: Tensor? = nil, pool: ThreadPool = .shared) throws -> Tensor {
        let rows = try Tensor.checkLinear(input: self, weight: weight, bias: bias)
        var result = Tensor(uninitialized: Array(shape.dropLast()) + [weight.n])
        result.withUnsafeMutableBufferPointer { buffer in
            Tensor.linear(rows: rows, input: self, weight: weight, bias: bias, beta: 0, into: buffer, pool: pool)
        }
        return result
    }

    /// `self += x · B + bias` for `x` `[..., k]`, a packed `B` (`[k×n]`) and `self` `[..., n]`: a linear layer
    /// whose output is added onto a residual in the same pass over memory.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when the shapes do not fit together.
    public mutating func addMatmul(_ x: Tensor, _ weight: PackedMatrix, bias: Tensor? = nil, pool: ThreadPool = .shared) throws {
        let rows = try Tensor.checkLinear(input: x, weight: weight, bias: bias)
        let expected = Array(x.shape.dropLast()) + [weight.n]
        guard shape == expected else {
            throw TensorError.shapeMismatch("addMatmul: accumulator has shape \(shape), the product has shape \(expected)")
        }
        withUnsafeMutableBufferPointer { buffer in
            Tensor.linear(rows: rows, input: x, weight: weight, bias: bias, beta: 1, into: buffer, pool: pool)
        }
    }

    /// Checks `input` `[..., k]` and `bias` `[n]` against `weight`; returns the number of input rows.
    private static func checkLinear(input: Tensor, weight: PackedMatrix, bias: Tensor?) throws -> Int {
        guard input.rank >= 1, input.shape[input.rank - 1] == weight.k else {
            throw TensorError.shapeMismatch("matmul: input shape \(input.shape) does not end in the weight's k = \(weight.k)")
        }
        if let bias, bias.shape != [weight.n] {
            throw TensorError.shapeMismatch("matmul: bias has shape \(bias.shape), expected [\(weight.n)]")
        }
        return input.shape.dropLast().reduce(1, *)
    }

    private static func linear(rows: Int, input: Tensor, weight: PackedMatrix, bias: Tensor?, beta: Float,
                               into output: UnsafeMutableBufferPointer<Float>, pool: ThreadPool) {
        guard let c = output.baseAddress else { return }
        GEMM.sgemm(m: rows, a: input.storage.pointer, lda: max(1, weight.k), b: weight, beta: beta,
                   c: c, ldc: max(1, weight.n), bias: bias?.storage.pointer, pool: pool)
    }
}
