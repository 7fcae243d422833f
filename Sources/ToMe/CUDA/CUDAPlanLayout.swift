import CCUDA

/// Where each array of a ``CUDAMergePlan`` lives inside its one device allocation (one allocation per plan keeps
/// planning to a single trip through the allocator).
///
/// The partition arrays come first and contiguous (slot, source tokens, destination tokens) so one upload fills
/// them; every other array starts on a 256-byte boundary (the fp16 copies need 16-byte aligned rows for cp.async).
struct CUDAPlanLayout {
    let batch, tokens, channels, sources, destinations, r, paddedChannels: Int
    private(set) var totalBytes = 0
    private var offsets: [String: Int] = [:]

    init(batch: Int, tokens: Int, channels: Int, sources: Int, destinations: Int, r: Int) {
        (self.batch, self.tokens, self.channels, self.sources, self.destinations, self.r) =
            (batch, tokens, channels, sources, destinations, r)
        paddedChannels = Int(tomecuda_padded_channels(Int32(channels)))
        let int32 = 4, uint64 = 8, float = 4, half = 2
        place("slot", tokens * int32, aligned: false)
        place("source_tokens", sources * int32, aligned: false)
        place("destination_tokens", destinations * int32, aligned: false)
        place("metric_sources", batch * sources * channels * float)
        place("metric_destinations", batch * destinations * channels * float)
        place("half_sources", batch * sources * paddedChannels * half)
        place("half_destinations", batch * destinations * paddedChannels * half)
        place("bad_row", int32)
        place("best_keys", batch * sources * uint64)
        place("rank_counts", batch * sources * int32)
        place("order", batch * sources * int32)
        place("row_of", batch * tokens * int32)
        place("unmerged_tokens", batch * (sources - r) * int32)
        place("merge_keys", batch * sources * uint64)
        place("by_destination", batch * sources * int32)
        place("members", batch * r * int32)
        place("segment_start", batch * destinations * int32)
        place("segment_end", batch * destinations * int32)
    }

    private mutating func place(_ name: String, _ bytes: Int, aligned: Bool = true) {
        if aligned { totalBytes = (totalBytes + 255) / 256 * 256 }
        offsets[name] = totalBytes
        totalBytes += bytes
    }

    /// The shim's plan record with every array addressed inside the allocation at `base`.
    func plan(base: UInt64) -> tomecuda_plan {
        func at(_ name: String) -> UInt64 { base + UInt64(offsets[name]!) }
        return tomecuda_plan(
            batch: Int32(batch), tokens: Int32(tokens), channels: Int32(channels), sources: Int32(sources),
            destinations: Int32(destinations), r: Int32(r), padded_channels: Int32(paddedChannels),
            slot: at("slot"), source_tokens: at("source_tokens"), destination_tokens: at("destination_tokens"),
            metric_sources: at("metric_sources"), metric_destinations: at("metric_destinations"),
            half_sources: at("half_sources"), half_destinations: at("half_destinations"), bad_row: at("bad_row"),
            best_keys: at("best_keys"), rank_counts: at("rank_counts"), order: at("order"), row_of: at("row_of"),
            unmerged_tokens: at("unmerged_tokens"), merge_keys: at("merge_keys"),
            by_destination: at("by_destination"), members: at("members"), segment_start: at("segment_start"),
            segment_end: at("segment_end"))
    }
}
