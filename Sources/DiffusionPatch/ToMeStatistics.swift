/// What a ``ToMePatch`` has done since it was applied (or since ``ToMePatch/resetStatistics()``): how often it
/// merged, how much, and the time it spent doing so (the patch's whole overhead over the model's own work).
public struct ToMeStatistics: Equatable, Sendable {
    /// Transformer-block calls the patch was asked to plan for.
    public var blockCalls = 0
    /// Block calls whose plan merged tokens (`r > 0` after clamping to the number of sources).
    public var mergingCalls = 0
    /// Tokens removed, summed over those plans (each plan's `r`, once per plan, not per batch element).
    public var tokensMerged = 0
    /// Seconds spent making plans: partition, bipartite matching, ranking.
    public var planningSeconds: Double = 0
    /// Seconds spent merging sub-layer inputs.
    public var mergeSeconds: Double = 0
    /// Seconds spent unmerging sub-layer outputs.
    public var unmergeSeconds: Double = 0

    /// Everything the patch added to the forward calls: planning, merging and unmerging.
    public var overheadSeconds: Double { planningSeconds + mergeSeconds + unmergeSeconds }

    /// No calls yet.
    public init() {}
}
