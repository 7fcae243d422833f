import TensorCore

extension MergePlan {
    /// Merges `x` (`[B, N, C']`, any `C'`): `[B, N - r, C']`, each output row the mean of its group's tokens
    /// (tomesd's `m`, `scatter_reduce` mean with `include_self`). Summation follows the group order (destination
    /// first, then merged sources by ascending token), then one division by the group size.
    /// - Throws: ``ToMeError/shapeMismatch(tensor:reason:)`` when `x` is not `[batchSize, tokenCount, C']` with `C' >= 1`.
    public func merge(_ x: Tensor, pool: ThreadPool = .shared) throws -> Tensor {
        let channels = try check(x, tokens: tokenCount, what: "merge input")
        var out = Tensor(uninitialized: [batchSize, outputTokenCount, channels])
        let rows = outputTokenCount
        x.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { out in
                groupOffsets.withUnsafeBufferPointer { offsets in
                    groupMembers.withUnsafeBufferPointer { members in
                        let (x, out, offsets, members) = (x.baseAddress!, out.baseAddress!, offsets.baseAddress!,
                                                          members.baseAddress!)
                        MergePlan.forEachChunk(batchSize * rows, pool: pool) { index in
                            let b = index / rows, row = index % rows
                            let start = Int(offsets[b * (rows + 1) + row]), end = Int(offsets[b * (rows + 1) + row + 1])
                            let group = members + b * tokenCount
                            let source = x + b * tokenCount * channels
                            let target = out + index * channels
                            target.update(from: source + Int(group[start]) * channels, count: channels)
                            guard end - start > 1 else { return }
                            for member in (start + 1)..<end {
                                let row = source + Int(group[member]) * channels
                                for c in 0..<channels { target[c] += row[c] }
                            }
                            let size = Float(end - start)
                            for c in 0..<channels { target[c] /= size }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Unmerges `y` (`[B, N - r, C']`): `[B, N, C']`, every token receiving its group's row (tomesd's `u`:
    /// destinations and kept sources get their own rows back, merged sources their destination's row).
    /// - Throws: ``ToMeError/shapeMismatch(tensor:reason:)`` when `y` is not `[batchSize, tokenCount - r, C']` with `C' >= 1`.
    public func unmerge(_ y: Tensor, pool: ThreadPool = .shared) throws -> Tensor {
        let channels = try check(y, tokens: outputTokenCount, what: "unmerge input")
        var out = Tensor(uninitialized: [batchSize, tokenCount, channels])
        let rows = outputTokenCount
        y.withUnsafeBufferPointer { y in
            out.withUnsafeMutableBufferPointer { out in
                outputRow.withUnsafeBufferPointer { outputRow in
                    let (y, out, outputRow) = (y.baseAddress!, out.baseAddress!, outputRow.baseAddress!)
                    MergePlan.forEachChunk(batchSize * tokenCount, pool: pool) { index in
                        let b = index / tokenCount
                        let source = y + (b * rows + Int(outputRow[index])) * channels
                        (out + index * channels).update(from: source, count: channels)
                    }
                }
            }
        }
        return out
    }

    /// `C'` of a `[batchSize, tokens, C']` tensor.
    private func check(_ x: Tensor, tokens: Int, what: String) throws -> Int {
        guard x.rank == 3, x.shape[0] == batchSize, x.shape[1] == tokens, x.shape[2] >= 1 else {
            throw ToMeError.shapeMismatch(tensor: what, reason: "must be [\(batchSize), \(tokens), C] with C >= 1 for "
                + "this plan, got shape \(x.shape)")
        }
        return x.shape[2]
    }

    /// Calls `body(i)` for every `i` in `0 ..< count`, in contiguous chunks spread over the pool.
    private static func forEachChunk(_ count: Int, pool: ThreadPool, _ body: (Int) -> Void) {
        let chunk = 64
        pool.parallelFor((count + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(count, (c + 1) * chunk) { body(i) }
        }
    }
}
