/// For every source token of every batch element, its most similar destination and the canonical cosine score —
/// the matching half of tomesd's `scores.max(dim=-1)`, from which a ``MergePlan`` is built.
///
/// Backends other than the CPU (e.g. CUDA) produce this too; with the canonical score (see `ck_match.h`) every
/// backend yields the same values, hence the same plan.
public struct BestDestinations: Sendable, Equatable {
    /// Number of batch elements.
    public let batchSize: Int
    /// Sources per batch element (the partition's source count).
    public let sourceCount: Int
    /// `[batchSize][sourceCount]`: index into `Partition.destinationTokens` of each source's best destination
    /// (highest score, ties to the lowest index).
    public let destination: [Int32]
    /// `[batchSize][sourceCount]`: the canonical cosine similarity of each source to its best destination.
    public let score: [Float]

    /// Wraps per-source results.
    /// - Throws: ``ToMeError/shapeMismatch(tensor:reason:)`` when the arrays do not hold `batchSize · sourceCount` values,
    ///   ``ToMeError/invalidArgument(argument:reason:)`` for a destination index outside `0 ..< destinationCount` or a NaN score.
    public init(batchSize: Int, sourceCount: Int, destinationCount: Int, destination: [Int32], score: [Float]) throws {
        guard batchSize >= 1, sourceCount >= 0, destination.count == batchSize * sourceCount,
              score.count == destination.count else {
            throw ToMeError.shapeMismatch(tensor: "best destinations", reason: "\(destination.count) indices and "
                + "\(score.count) scores for \(batchSize) batch elements of \(sourceCount) sources")
        }
        if let bad = destination.firstIndex(where: { $0 < 0 || Int($0) >= destinationCount }) {
            throw ToMeError.invalidArgument(argument: "best destination",
                reason: "\(destination[bad]) of source entry \(bad) is outside 0..<\(destinationCount)")
        }
        if let bad = score.firstIndex(where: { $0.isNaN }) {
            throw ToMeError.invalidArgument(argument: "score", reason: "of source entry \(bad) is NaN")
        }
        self.batchSize = batchSize
        self.sourceCount = sourceCount
        self.destination = destination
        self.score = score
    }
}
