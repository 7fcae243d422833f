/// Which tokens merge, as plain index arrays: apply it with ``merge(_:pool:)`` and ``unmerge(_:pool:)`` to any
/// `[B, N, C']` tensor, as often as needed (tomesd's `m` and `u`, without closures over hidden state).
///
/// Output row layout per batch element, as in tomesd: first the `N_src - r` kept sources, most similar first
/// (tomesd's `unm`), then one row per destination in ascending token order (tomesd's `dst`), each the mean of
/// the destination and the sources merged into it. Every token belongs to exactly one output row (its *group*),
/// so merging is a segmented mean and unmerging a gather:
/// - `groupOffsets[b][row] ..< groupOffsets[b][row + 1]` index `groupMembers[b]`, the row's tokens: a kept source
///   alone, or a destination followed by its merged sources in ascending token order (the summation order);
/// - `outputRow[b][token]` is the output row of the token's group.
/// The arrays are flat, batch-major, with `Int32` indices, ready for a GPU backend to upload.
public struct MergePlan: Sendable, Equatable {
    /// Number of batch elements the plan was made for.
    public let batchSize: Int
    /// Tokens per batch element before merging (`N`).
    public let tokenCount: Int
    /// Tokens removed by merging: `r` after ``MergeGrid/clamp(r:sourceCount:)`` (0 for the identity plan).
    public let r: Int
    /// Output rows holding one kept source each; the destination rows follow.
    public let keptSourceCount: Int
    /// `[batchSize][outputTokenCount + 1]`: where each output row's group starts in `groupMembers` (per batch
    /// element, from 0).
    public let groupOffsets: [Int32]
    /// `[batchSize][tokenCount]`: the tokens of each group, group after group.
    public let groupMembers: [Int32]
    /// `[batchSize][tokenCount]`: the output row of each token.
    public let outputRow: [Int32]

    /// Tokens per batch element after merging, `N - r`.
    public var outputTokenCount: Int { tokenCount - r }

    /// The plan that changes nothing (tomesd's `do_nothing` for `r <= 0`): every token its own row, in order.
    public init(identityFor batchSize: Int, tokenCount: Int) {
        self.batchSize = batchSize
        self.tokenCount = tokenCount
        self.r = 0
        keptSourceCount = tokenCount
        let tokens = (0..<tokenCount).map(Int32.init)
        groupOffsets = Array(repeating: (0...tokenCount).map(Int32.init), count: batchSize).flatMap { $0 }
        groupMembers = Array(repeating: tokens, count: batchSize).flatMap { $0 }
        outputRow = groupMembers
    }

    /// Ranks the sources of each batch element by their best score (descending, ties to the lower token) and
    /// merges the top `r` into their best destinations.
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` unless `0 <= r <= ` the number of sources;
    ///   ``ToMeError/shapeMismatch(tensor:reason:)`` when `best` was not made for this partition's sources.
    public init(partition: Partition, bestDestinations best: BestDestinations, r: Int) throws {
        let sources = partition.sourceTokens.count, destinations = partition.destinationTokens.count
        guard r >= 0, r <= sources else {
            throw ToMeError.invalidArgument(argument: "r", reason: "= \(r) must be between 0 and the \(sources) sources")
        }
        guard best.sourceCount == sources else {
            throw ToMeError.shapeMismatch(tensor: "best destinations",
                                          reason: "for \(best.sourceCount) sources, partition has \(sources)")
        }
        if let bad = best.destination.firstIndex(where: { Int($0) >= destinations }) {
            throw ToMeError.invalidArgument(argument: "best destination", reason: "\(best.destination[bad]) of source "
                + "entry \(bad) is outside the partition's \(destinations) destinations")
        }
        batchSize = best.batchSize
        tokenCount = partition.tokenCount
        self.r = r
        keptSourceCount = sources - r
        let rows = tokenCount - r
        var offsets = [Int32](), members = [Int32](), outputRow = [Int32](repeating: 0, count: batchSize * tokenCount)
        offsets.reserveCapacity(batchSize * (rows + 1))
        members.reserveCapacity(batchSize * tokenCount)
        for b in 0..<batchSize {
            let bestOf = best.destination[(b * sources)..<((b + 1) * sources)]
            let scoreOf = best.score[(b * sources)..<((b + 1) * sources)]
            let first = bestOf.startIndex
            // Sources ranked by score, most similar first; equal scores keep token order.
            let ranked = (0..<sources).sorted { i, j in
                let (si, sj) = (scoreOf[first + i], scoreOf[first + j])
                return si > sj || (si == sj && i < j)
            }
            var merged = [Bool](repeating: false, count: sources)
            var groupSize = [Int32](repeating: 1, count: destinations)
            for s in ranked[..<r] {
                merged[s] = true
                groupSize[Int(bestOf[first + s])] += 1
            }
            // Kept sources, one row each, in rank order.
            let memberBase = members.count
            for s in ranked[r...] {
                offsets.append(Int32(members.count - memberBase))
                members.append(partition.sourceTokens[s])
            }
            // Destination groups: the destination, then its merged sources in ascending token order.
            var cursor = [Int](repeating: 0, count: destinations)
            for d in 0..<destinations {
                offsets.append(Int32(members.count - memberBase))
                cursor[d] = members.count + 1
                members.append(partition.destinationTokens[d])
                members.append(contentsOf: repeatElement(0, count: Int(groupSize[d]) - 1))
            }
            offsets.append(Int32(members.count - memberBase))
            for s in 0..<sources where merged[s] {
                let d = Int(bestOf[first + s])
                members[cursor[d]] = partition.sourceTokens[s]
                cursor[d] += 1
            }
            for row in 0..<rows {
                let start = memberBase + Int(offsets[b * (rows + 1) + row])
                let end = memberBase + Int(offsets[b * (rows + 1) + row + 1])
                for token in members[start..<end] { outputRow[b * tokenCount + Int(token)] = Int32(row) }
            }
        }
        groupOffsets = offsets
        groupMembers = members
        self.outputRow = outputRow
    }
}
