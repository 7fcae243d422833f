import TensorCore

/// Bipartite soft matching with tomesd's 2-D random partition (`tomesd.merge.bipartite_soft_matching_random2d`,
/// tomesd 0.1.3), as a reusable ``MergePlan`` instead of closures.
///
/// Steps, as in tomesd:
/// 1. partition the `h × w` tokens into destinations (one per `sy × sx` cell) and sources (``Partition``);
/// 2. normalise the metric to unit length and find, for every source, its most similar destination by cosine
///    similarity (``bestDestinations(metric:partition:kernel:pool:)``, a fused kernel: no score matrix);
/// 3. rank sources by that similarity and merge the top `r` into their destinations (``MergePlan``).
///
/// Where tomesd leaves ties to PyTorch's unstable sorts, this is deterministic: the best destination is the lowest
/// index among equal scores, and equal sources rank by ascending token. A zero metric token has similarity 0 with
/// everything (tomesd: NaN). Scores are computed in a canonical fp32 order (see `ck_match.h`), so every kernel
/// variant and backend gives the same plan.
public enum BipartiteMatching {
    /// The plan that merges `r` of `metric`'s tokens (`[B, N, C]`, `N = partition.tokenCount`) into their most
    /// similar destinations. `r` is clamped to the number of sources; `r == 0` gives the identity plan (tomesd's
    /// `do_nothing`, and the metric is then not read).
    /// - Throws: ``ToMeError`` for a negative `r`, a metric of the wrong rank or token count or with an empty
    ///   dimension, or a non-finite metric token.
    public static func plan(metric: Tensor, partition: Partition, r: Int, kernel: MatchKernel = .best,
                            pool: ThreadPool = .shared) throws -> MergePlan {
        try check(r: r)
        let (batch, tokens, _) = try checkMetric(shape: metric.shape, partition)
        if r == 0 { return MergePlan(identityFor: batch, tokenCount: tokens) }

        // Cosine similarity between sources and destinations: the best destination of each source.
        let best = try bestDestinations(metric: metric, partition: partition, kernel: kernel, pool: pool)

        // Rank sources by that similarity; the top r merge (never more than there are sources).
        return try MergePlan(partition: partition, bestDestinations: best, r: MergeGrid.clamp(r: r, sourceCount: partition.sourceTokens.count))
    }

    /// Normalises `metric` (`[B, N, C]`) and finds every source's most similar destination, batch element by
    /// batch element, without materialising the score matrix.
    /// - Throws: ``ToMeError`` for a metric of the wrong rank or token count or with an empty dimension, or a
    ///   non-finite metric token (the first, in batch-then-token order).
    public static func bestDestinations(metric: Tensor, partition: Partition, kernel: MatchKernel = .best,
                                        pool: ThreadPool = .shared) throws -> BestDestinations {
        let (batch, tokens, channels) = try checkMetric(shape: metric.shape, partition)
        let sources = partition.sourceTokens.count, destinations = partition.destinationTokens.count
        let destination = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, batch * sources))
        let score = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, batch * sources))
        defer {
            destination.deallocate()
            score.deallocate()
        }
        let workspace = MatchWorkspace(kernel: kernel, tokens: tokens, channels: channels, sourceCount: sources,
                                       destinationCount: destinations, threads: pool.threadCount)
        try metric.withUnsafeBufferPointer { x in
            try partition.sourceTokens.withUnsafeBufferPointer { sourceTokens in
                try partition.destinationTokens.withUnsafeBufferPointer { destinationTokens in
                    for b in 0..<batch {
                        let row = x.baseAddress! + b * tokens * channels
                        if let bad = workspace.run(
                            metric: row, tokens: tokens, sourceTokens: sourceTokens.baseAddress!,
                            destinationTokens: destinationTokens.baseAddress!, pool: pool,
                            destination: destination.baseAddress! + b * sources, score: score.baseAddress! + b * sources) {
                            throw nonFinite(row + bad * channels, channels: channels, batch: b, token: bad)
                        }
                    }
                }
            }
        }
        return try BestDestinations(batchSize: batch, sourceCount: sources, destinationCount: destinations,
                                    destination: Array(destination.prefix(batch * sources)),
                                    score: Array(score.prefix(batch * sources)))
    }

    /// Checks a requested merge count (every backend: the CPU here, CUDA in ToMeCUDA).
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` for a negative `r`.
    package static func check(r: Int) throws {
        guard r >= 0 else { throw ToMeError.invalidArgument(argument: "r", reason: "= \(r) must not be negative") }
    }

    /// `(B, N, C)` of a metric of `shape` that fits `partition` (every backend: the CPU here, CUDA in ToMeCUDA).
    /// - Throws: ``ToMeError/shapeMismatch(tensor:reason:)`` for a metric that is not `[B, N, C]`, has an empty
    ///   dimension, or whose `N` is not the partition's token count.
    package static func checkMetric(shape: [Int], _ partition: Partition) throws -> (Int, Int, Int) {
        guard shape.count == 3 else {
            throw ToMeError.shapeMismatch(tensor: "metric", reason: "must be [B, N, C], got shape \(shape)")
        }
        let (batch, tokens, channels) = (shape[0], shape[1], shape[2])
        guard batch >= 1, tokens >= 1, channels >= 1 else {
            throw ToMeError.shapeMismatch(tensor: "metric", reason: "shape \(shape) has an empty dimension")
        }
        guard tokens == partition.tokenCount else {
            throw ToMeError.shapeMismatch(tensor: "metric", reason: "has N = \(tokens) tokens but the grid is "
                + "\(partition.height)×\(partition.width) = \(partition.tokenCount)")
        }
        return (batch, tokens, channels)
    }

    private static func nonFinite(_ row: UnsafePointer<Float>, channels: Int, batch: Int, token: Int) -> ToMeError {
        if let c = (0..<channels).first(where: { !row[$0].isFinite }) {
            return .nonFiniteMetric(batch: batch, token: token, reason: "has a non-finite value (\(row[c])) in channel \(c)")
        }
        return .nonFiniteMetric(batch: batch, token: token, reason: "has a squared norm beyond Float's range")
    }
}
