import CCUDA
import ToMe

/// Where each array of a ``CUDAMergePlan`` lives inside its one device allocation (one allocation per plan keeps
/// planning to a single trip through the allocator).
///
/// The partition arrays come first and contiguous (slot, source tokens, destination tokens) so one upload fills
/// them; every other array starts on a 256-byte boundary (the fp16 copies need 16-byte aligned rows for cp.async).
struct CUDAPlanLayout {
    /// The plan's arrays, in allocation order.
    private enum Array: Int, CaseIterable {
        case slot, sourceTokens, destinationTokens, metricSources, metricDestinations, halfSources,
             halfDestinations, badRow, bestKeys, rankCounts, order, rowOf, unmergedTokens, mergeKeys, byDestination,
             members, segmentStart, segmentEnd
    }

    let paddedChannels: Int
    private(set) var totalBytes = 0
    private var offsets = [Int](repeating: 0, count: Array.allCases.count)
    private let batch, tokens, channels, sources, destinations, r: Int

    init(batch: Int, tokens: Int, channels: Int, sources: Int, destinations: Int, r: Int) {
        (self.batch, self.tokens, self.channels, self.sources, self.destinations, self.r) =
            (batch, tokens, channels, sources, destinations, r)
        paddedChannels = Int(tomecuda_padded_channels(Int32(channels)))
        for array in Array.allCases {
            if array.rawValue > Array.destinationTokens.rawValue { totalBytes = (totalBytes + 255) / 256 * 256 }
            offsets[array.rawValue] = totalBytes
            totalBytes += bytes(array)
        }
    }

    private func bytes(_ array: Array) -> Int {
        let int32 = 4, uint64 = 8, float = 4, half = 2
        switch array {
        case .slot: return tokens * int32
        case .sourceTokens: return sources * int32
        case .destinationTokens: return destinations * int32
        case .metricSources: return batch * sources * channels * float
        case .metricDestinations: return batch * destinations * channels * float
        case .halfSources: return batch * sources * paddedChannels * half
        case .halfDestinations: return batch * destinations * paddedChannels * half
        case .badRow: return int32
        case .bestKeys, .mergeKeys: return batch * sources * uint64
        case .rankCounts, .order, .byDestination: return batch * sources * int32
        case .rowOf: return batch * tokens * int32
        case .unmergedTokens: return batch * (sources - r) * int32
        case .members: return batch * r * int32
        case .segmentStart, .segmentEnd: return batch * destinations * int32
        }
    }

    /// The shim's plan record with every array addressed inside the allocation at `base`.
    func plan(base: UInt64) -> tomecuda_plan {
        func at(_ array: Array) -> UInt64 { base + UInt64(offsets[array.rawValue]) }
        return tomecuda_plan(
            batch: Int32(batch), tokens: Int32(tokens), channels: Int32(channels), sources: Int32(sources),
            destinations: Int32(destinations), r: Int32(r), padded_channels: Int32(paddedChannels),
            slot: at(.slot), source_tokens: at(.sourceTokens), destination_tokens: at(.destinationTokens),
            metric_sources: at(.metricSources), metric_destinations: at(.metricDestinations),
            half_sources: at(.halfSources), half_destinations: at(.halfDestinations), bad_row: at(.badRow),
            best_keys: at(.bestKeys), rank_counts: at(.rankCounts), order: at(.order), row_of: at(.rowOf),
            unmerged_tokens: at(.unmergedTokens), merge_keys: at(.mergeKeys), by_destination: at(.byDestination),
            members: at(.members), segment_start: at(.segmentStart), segment_end: at(.segmentEnd))
    }
}
