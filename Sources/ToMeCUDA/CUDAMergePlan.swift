import CCUDA
import ToMe

/// A ToMe merge plan made and applied on a CUDA device: bipartite soft matching of a device metric `[B, N, C]`
/// over a host-made ``Partition``, then `merge`/`unmerge` of any device tensor `[B, N, C']`.
///
/// The plan equals the CPU's for the same metric, partition and `r`: the kernels compute the canonical scores
/// (see `ck_match.h`), pick each source's best destination (ties to the lowest destination), rank the sources by
/// descending score (ties to the lowest source) and merge the top `r`. Everything stays on the device; the only
/// synchronisation is the check for non-finite metric rows at the end of `init`.
///
/// Steps, as in tomesd's `bipartite_soft_matching_random2d`:
/// 1. normalise the metric rows (`tome_normalize`), split into sources and destinations;
/// 2. best destination of every source (`tome_match`: fp16 tensor-core candidates, exact fp32 re-check);
/// 3. sources ranked by score, the top `r` merged: row of every token in the merged tensor, and the merged sources
///    grouped by destination (`tome_rank`, `tome_plan_build`, `tome_csr_finish`).
public final class CUDAMergePlan: @unchecked Sendable {
    /// The split of the token grid into sources and destinations.
    public let partition: Partition
    /// Number of batch elements the plan was made for.
    public let batchSize: Int
    /// Tokens merged away per batch element (the requested `r` clamped to the number of sources).
    public let r: Int
    /// The device holding the plan.
    public let device: CUDADevice
    /// `r` as requested, before clamping.
    private let unclampedR: Int
    /// Tokens per batch element after `merge`.
    public var mergedTokenCount: Int { partition.tokenCount - r }

    /// The plan's device arrays (nil for the identity plan, which needs none).
    private let arena: CUDABuffer<UInt8>?
    private var plan = tomecuda_plan()

    /// Matches `metric` (`[B, N, C]` on a CUDA device, `N = partition.tokenCount`) and plans merging `r` tokens,
    /// as ``BipartiteMatching/plan(metric:partition:r:kernel:pool:)`` does on the CPU: `r` is clamped to the number
    /// of sources and `r == 0` gives the identity plan (tomesd's `do_nothing`).
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` for a negative `r`, ``ToMeError/shapeMismatch(tensor:reason:)`` for a
    ///   metric of the wrong rank or token count or with an empty dimension,
    ///   ``ToMeError/nonFiniteMetric(batch:token:reason:)`` for a NaN/Inf row, ``CUDAError`` for device failures.
    public init(metric: CUDATensor, partition: Partition, r: Int) throws {
        try BipartiteMatching.check(r: r)
        let (batch, tokens, channels) = try BipartiteMatching.checkMetric(shape: metric.shape, partition)
        self.partition = partition
        self.batchSize = batch
        self.r = MergeGrid.clamp(r: r, sourceCount: partition.sourceTokens.count)
        unclampedR = r
        device = metric.device
        // As on the CPU, the identity plan does not read the metric.
        guard self.r > 0 else {
            arena = nil
            return
        }
        let layout = CUDAPlanLayout(batch: batch, tokens: tokens, channels: channels,
                                    sources: partition.sourceTokens.count,
                                    destinations: partition.destinationTokens.count, r: self.r)
        let arena = try CUDABuffer<UInt8>(device: metric.device, count: layout.totalBytes)
        self.arena = arena
        plan = layout.plan(base: arena.address)

        try upload(partition: partition)
        let ordinal = metric.device.ordinal
        try CUDAError.check(tomecuda_normalize(ordinal, &plan, metric.buffer.address))
        try CUDAError.check(tomecuda_match(ordinal, &plan))
        try CUDAError.check(tomecuda_build_plan(ordinal, &plan))
        try checkFinite()
    }

    /// `[B, N, C']` → `[B, N − r, C']`: the unmerged sources in rank order, then each destination averaged with
    /// the sources merged into it. With `r == 0` the input itself.
    public func merge(_ x: CUDATensor) throws -> CUDATensor {
        try validate(x, tokens: partition.tokenCount, name: "merge input")
        guard r > 0 else { return x }
        let merged = try CUDATensor(uninitialized: [batchSize, mergedTokenCount, x.shape[2]], device: device)
        try CUDAError.check(tomecuda_merge(device.ordinal, &plan, x.buffer.address, Int32(x.shape[2]),
                                           merged.buffer.address))
        return merged
    }

    /// `[B, N − r, C']` → `[B, N, C']`: every token gets the row it was merged into (a gather).
    public func unmerge(_ x: CUDATensor) throws -> CUDATensor {
        try validate(x, tokens: mergedTokenCount, name: "unmerge input")
        guard r > 0 else { return x }
        let restored = try CUDATensor(uninitialized: [batchSize, partition.tokenCount, x.shape[2]], device: device)
        try CUDAError.check(tomecuda_unmerge(device.ordinal, &plan, x.buffer.address, Int32(x.shape[2]),
                                             restored.buffer.address))
        return restored
    }

    /// Each source's best destination and canonical score, copied to the host (equal to the CPU's).
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` for the identity plan (`r == 0`), which matches nothing.
    public func bestDestinations() throws -> BestDestinations {
        guard r > 0 else { throw ToMeError.invalidArgument(argument: "r", reason: "= 0: the identity plan computes no matches") }
        let sources = partition.sourceTokens.count
        let keys = try download(UInt64.self, plan.best_keys, count: batchSize * sources)
        let destination = keys.map { Int32(bitPattern: UInt32.max - UInt32(truncatingIfNeeded: $0)) }
        let score = keys.map { key -> Float in
            let bits = UInt32(truncatingIfNeeded: key >> 32)
            return Float(bitPattern: bits & 0x8000_0000 != 0 ? bits & 0x7fff_ffff : ~bits)
        }
        return try BestDestinations(batchSize: batchSize, sourceCount: sources,
                                    destinationCount: partition.destinationTokens.count,
                                    destination: destination, score: score)
    }

    /// `[B][N]`: the merged-tensor row of every token, as computed on the device (``MergePlan/outputRow`` of the
    /// same plan on the CPU).
    public func outputRows() throws -> [Int32] {
        guard r > 0 else { return MergePlan(identityFor: batchSize, tokenCount: partition.tokenCount).outputRow }
        return try download(Int32.self, plan.row_of, count: batchSize * partition.tokenCount)
    }

    /// The same plan on the host, built by ``MergePlan`` from the device's best destinations (for CPU tensors).
    public func hostPlan() throws -> MergePlan {
        if r > 0 { return try MergePlan(partition: partition, bestDestinations: bestDestinations(), r: r) }
        if unclampedR == 0 { return MergePlan(identityFor: batchSize, tokenCount: partition.tokenCount) }
        // A partition without sources (sx = sy = 1): nothing to merge, laid out as the CPU lays it out.
        let none = try BestDestinations(batchSize: batchSize, sourceCount: 0,
                                        destinationCount: partition.destinationTokens.count, destination: [], score: [])
        return try MergePlan(partition: partition, bestDestinations: none, r: 0)
    }

    private func upload(partition: Partition) throws {
        // One copy: slot of every token, then the source and destination tokens (contiguous in the arena).
        var host = [Int32](repeating: 0, count: partition.tokenCount)
        for (index, token) in partition.sourceTokens.enumerated() { host[Int(token)] = Int32(index) }
        for (index, token) in partition.destinationTokens.enumerated() { host[Int(token)] = -1 - Int32(index) }
        host += partition.sourceTokens
        host += partition.destinationTokens
        try host.withUnsafeBytes { bytes in
            try CUDAError.check(tomecuda_upload(device.ordinal, plan.slot, bytes.baseAddress, bytes.count))
        }
    }

    private func checkFinite() throws {
        let bad = try download(Int32.self, plan.bad_row, count: 1)[0]
        guard bad == Int32.max else {
            let tokens = partition.tokenCount
            throw ToMeError.nonFiniteMetric(batch: Int(bad) / tokens, token: Int(bad) % tokens,
                                            reason: "has a NaN or infinite element, or a squared norm beyond Float")
        }
    }

    private func validate(_ x: CUDATensor, tokens: Int, name: String) throws {
        guard x.shape.count == 3, x.shape[0] == batchSize, x.shape[1] == tokens, x.shape[2] >= 1 else {
            throw ToMeError.shapeMismatch(tensor: name, reason: "must be [\(batchSize), \(tokens), C], got \(x.shape)")
        }
        guard x.device == device else {
            throw CUDAError.invalidArgument("\(name) is on \(x.device), the plan on \(device)")
        }
    }

    private func download<T: BitwiseCopyable>(_ type: T.Type, _ address: UInt64, count: Int) throws -> [T] {
        try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let bytes = count * MemoryLayout<T>.stride
            try CUDAError.check(tomecuda_download(device.ordinal, buffer.baseAddress, address, bytes))
            initialized = count
        }
    }
}
