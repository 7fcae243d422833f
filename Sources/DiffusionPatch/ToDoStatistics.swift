/// What a ``ToDoPatch`` has done since it was applied (or since ``ToDoPatch/resetStatistics()``).
public struct ToDoStatistics: Equatable, Sendable {
    /// Transformer-block calls the patch was asked to plan for.
    public var blockCalls = 0
    /// Block calls whose self-attention keys and values were downsampled.
    public var downsamplingCalls = 0
    /// Key/value tokens removed, summed over those calls (`N − N'` per call, not per batch element).
    public var tokensRemoved = 0
    /// Seconds spent resizing token grids (the patch's whole overhead over the model's own work).
    public var overheadSeconds: Double = 0

    /// No calls yet.
    public init() {}
}
