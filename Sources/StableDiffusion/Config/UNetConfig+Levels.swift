extension UNetConfig {
    /// How much each level that holds transformer blocks is downsampled, ascending and without repeats: `2^level`
    /// for every down block with attention, the middle block (at the lowest level) and every up block with attention.
    /// SD 1.5: [1, 2, 4, 8]; SDXL: [2, 4] (its highest-resolution level has no attention, which is why tomesd's
    /// default `max_downsample` 1 merges nothing there).
    public var attentionDownsampleFactors: [Int] {
        let lowest = blockOutChannels.count - 1
        var levels = Set(downBlockTypes.indices.filter { downBlockTypes[$0] == .crossAttention })
        levels.formUnion(upBlockTypes.indices.filter { upBlockTypes[$0] == .crossAttention }.map { lowest - $0 })
        if midBlockType != nil { levels.insert(lowest) }
        return levels.sorted().map { 1 << $0 }
    }
}
