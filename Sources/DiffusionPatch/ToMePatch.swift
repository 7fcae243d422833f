import Foundation
import StableDiffusion
import TensorCore
import ToMe

/// Token Merging installed on every transformer block of a UNet (see ``applyPatch(_:options:)``): the Swift twin of
/// tomesd 0.1.3's `compute_merge`, called once per block call with the block's input hidden states.
///
/// Per call, with the block's `N` tokens and the UNet call's `H × W` latent:
/// 1. `downsample = ceil(sqrt(H·W // N))`; a block with `downsample > maxDownsample` is left alone;
/// 2. `r = Int(N · ratio)`; with `r = 0` nothing merges;
/// 3. the block's grid is `h = ceil(H / downsample)` by `w = ceil(W / downsample)`, partitioned into one
///    destination per `sy × sx` cell, at random unless ``ToMeOptions/useRandom`` is off or the batch size is odd;
/// 4. the metric — the block's input before `norm1` — is matched (``BipartiteMatching``) into one ``MergePlan``,
///    which every switched-on sub-layer shares: merge its normalised input, unmerge its output before the residual.
///
/// **Randomness.** A patch owns one ``SplitMix64`` seeded with ``ToMeOptions/seed`` when it is applied, as tomesd
/// keeps one torch generator per patch. Every block call that builds a random partition (random on, batch even,
/// `downsample <= maxDownsample`, `r > 0`, some sub-layer merging) draws its `(h / sy) · (w / sx)` cell choices from
/// it, cells row-major, in the order the UNet runs its blocks (down, mid, up). So a seed and a sequence of UNet calls
/// fix every partition; a call's partitions depend on the calls before it; applying the patch again restarts the
/// sequence. Calls without a random partition draw nothing.
public final class ToMePatch: TokenReductionHook {
    /// The options the patch was applied with.
    public let options: ToMeOptions
    /// True when the model this patch was applied to has no transformer block at a level the options merge (e.g.
    /// SDXL, whose highest-resolution level has no attention, at `maxDownsample` 1), or the options merge no
    /// sub-layer or a ratio of 0: then the patch leaves every output unchanged. Set by ``applyPatch(_:options:)``
    /// from the model's levels (``UNetConfig/attentionDownsampleFactors``); false for a patch not applied that way.
    public internal(set) var mergesNothing = false
    /// The pool that matching, merging and unmerging run on.
    let pool: ThreadPool
    private let lock = NSLock()
    private var generator: SplitMix64
    /// The no-random partition of each grid seen so far (they never change).
    private var fixedPartitions: [GridKey: Partition] = [:]
    private var counters = ToMeStatistics()

    /// A patch with validated `options`, not yet installed (``applyPatch(_:options:)`` installs one on a model).
    /// - Throws: ``PatchError/invalidOption(option:reason:)``.
    public init(options: ToMeOptions, pool: ThreadPool = .shared) throws {
        try options.validate()
        self.options = options
        self.pool = pool
        generator = SplitMix64(seed: options.seed)
    }

    /// What the patch has done since it was applied or since ``resetStatistics()``.
    public var statistics: ToMeStatistics {
        lock.lock()
        defer { lock.unlock() }
        return counters
    }

    /// Zeroes ``statistics`` (the random sequence goes on).
    public func resetStatistics() {
        update { $0 = ToMeStatistics() }
    }

    /// tomesd's `compute_merge` for one block call: the merge plan shared by the switched-on sub-layers.
    /// - Throws: ``PatchError`` when the block's tokens do not fit the grid tomesd derives, or the grid is smaller
    ///   than one cell; ``ToMeError`` for a non-finite metric.
    public func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan {
        update { $0.blockCalls += 1 }
        guard options.mergesAnySubLayer, hiddenStates.rank == 3,
              let grid = MergeGrid(tokens: hiddenStates.shape[1], latentHeight: context.latentHeight,
                                   latentWidth: context.latentWidth, ratio: options.ratio,
                                   maxDownsample: options.maxDownsample) else { return .unchanged }
        let start = ProcessMetrics.now()
        try check(grid, tokens: hiddenStates.shape[1], context: context)
        // Odd batches cannot hold a prompted and an unprompted half, so tomesd turns randomness off for them.
        let partition = try self.partition(grid, random: options.useRandom && hiddenStates.shape[0] % 2 == 0)
        let plan = try BipartiteMatching.plan(metric: hiddenStates, partition: partition, r: grid.r,
                                              pool: pool)
        update {
            $0.planningSeconds += ProcessMetrics.seconds(since: start)
            if plan.r > 0 {
                $0.mergingCalls += 1
                $0.tokensMerged += plan.r
            }
        }
        guard plan.r > 0 else { return .unchanged }

        let reducer = MergeReducer(plan: plan, patch: self)
        return TokenReductionPlan(selfAttention: options.mergeAttention ? reducer : nil,
                                  crossAttention: options.mergeCrossAttention ? reducer : nil,
                                  feedForward: options.mergeMLP ? reducer : nil)
    }

    /// Fails where tomesd fails: a grid that is not the block's tokens, or smaller than one cell.
    private func check(_ grid: MergeGrid, tokens: Int, context: TokenReductionContext) throws {
        guard grid.fits(tokens: tokens) else {
            throw PatchError.gridMismatch(tokens: tokens, latentHeight: context.latentHeight,
                                          latentWidth: context.latentWidth, downsample: grid.downsample,
                                          height: grid.height, width: grid.width)
        }
        guard grid.holdsCell(sx: options.sx, sy: options.sy) else {
            throw PatchError.gridTooSmall(height: grid.height, width: grid.width, sx: options.sx, sy: options.sy,
                                          downsample: grid.downsample)
        }
    }

    /// The partition of `grid`: drawn from the patch's generator, or the cached top-left one.
    private func partition(_ grid: MergeGrid, random: Bool) throws -> Partition {
        lock.lock()
        defer { lock.unlock() }
        if random {
            return try Partition(height: grid.height, width: grid.width, sx: options.sx, sy: options.sy,
                                 using: &generator)
        }
        let key = GridKey(height: grid.height, width: grid.width)
        if let cached = fixedPartitions[key] { return cached }
        let partition = try Partition(height: grid.height, width: grid.width, sx: options.sx, sy: options.sy)
        fixedPartitions[key] = partition
        return partition
    }

    /// Changes the statistics under the lock.
    func update(_ change: (inout ToMeStatistics) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        change(&counters)
    }
}

/// A token grid's size.
private struct GridKey: Hashable {
    let height: Int
    let width: Int
}

/// One block call's ``MergePlan`` as the model's ``TokenReducer`` (tomesd's `m` and `u`), timing itself into the
/// patch's statistics.
private struct MergeReducer: TokenReducer {
    let plan: MergePlan
    let patch: ToMePatch

    func merge(_ tokens: Tensor) throws -> Tensor {
        let start = ProcessMetrics.now()
        let merged = try plan.merge(tokens, pool: patch.pool)
        patch.update { $0.mergeSeconds += ProcessMetrics.seconds(since: start) }
        return merged
    }

    func unmerge(_ tokens: Tensor) throws -> Tensor {
        let start = ProcessMetrics.now()
        let unmerged = try plan.unmerge(tokens, pool: patch.pool)
        patch.update { $0.unmergeSeconds += ProcessMetrics.seconds(since: start) }
        return unmerged
    }
}
