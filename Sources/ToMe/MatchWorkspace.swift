import CKernels
import Foundation
import TensorCore

/// The buffers of one best-destination search (normalised rows, packed sources and destinations, one scratch
/// area per thread), reused across the batch elements: extra memory O(N · C), never O(N²).
///
/// The memory comes from a process-wide cache that keeps the buffers of the largest search so far, so repeated
/// searches (every transformer block, every step) do not pay fresh page faults.
final class MatchWorkspace {
    private let kernel: MatchKernel
    private let channels: Int
    private let sourceCount: Int
    private let destinationCount: Int
    private let participants: Int
    private let scratchBytes: Int
    private let buffers: Buffers
    private let normalized: UnsafeMutableRawPointer
    private let center: UnsafeMutableRawPointer
    private let packedSources: UnsafeMutableRawPointer
    private let packedDestinations: UnsafeMutableRawPointer
    private let scratch: UnsafeMutableRawPointer
    private let nextBlock = UnsafeMutablePointer<Int64>.allocate(capacity: 1)

    init(kernel: MatchKernel, tokens: Int, channels: Int, sourceCount: Int, destinationCount: Int, threads: Int) {
        let k = kernel.kernel
        self.kernel = kernel
        self.channels = channels
        self.sourceCount = sourceCount
        self.destinationCount = destinationCount
        participants = max(1, min(threads, Int(ck_match_source_block_count(k, Int64(sourceCount)))))
        scratchBytes = (ck_match_scratch_bytes(k, Int64(destinationCount)) + 63) & ~63
        buffers = Buffers.take()
        normalized = buffers.reserve(0, bytes: tokens * channels * MemoryLayout<Float>.stride)
        center = buffers.reserve(1, bytes: channels * MemoryLayout<Float>.stride)
        packedSources = buffers.reserve(2, bytes: ck_match_packed_sources_bytes(k, Int64(sourceCount), Int64(channels)))
        packedDestinations = buffers.reserve(
            3, bytes: ck_match_packed_destinations_bytes(k, Int64(destinationCount), Int64(channels)))
        scratch = buffers.reserve(4, bytes: participants * scratchBytes)
        nextBlock.initialize(to: 0)
    }

    deinit {
        Buffers.give(buffers)
        nextBlock.deallocate()
    }

    /// Normalises `metric` (`[tokens, channels]`, one batch element) and writes each source's best destination
    /// and score. Returns the first token whose squared norm is not finite, or nil.
    func run(metric: UnsafePointer<Float>, tokens: Int, sourceTokens: UnsafePointer<Int32>,
             destinationTokens: UnsafePointer<Int32>, pool: ThreadPool,
             destination: UnsafeMutablePointer<Int32>, score: UnsafeMutablePointer<Float>) -> Int? {
        if let bad = normalize(metric, tokens: tokens, pool: pool) { return bad }
        let k = kernel.kernel
        let unit = normalized.assumingMemoryBound(to: Float.self)
        let mean = center.assumingMemoryBound(to: Float.self)
        ck_match_center(unit, Int64(tokens), Int64(channels), mean)
        var problem = ck_match_problem(
            normalized: unit, channels: Int64(channels),
            source_tokens: sourceTokens, source_count: Int64(sourceCount),
            destination_tokens: destinationTokens, destination_count: Int64(destinationCount),
            center: mean, packed_sources: packedSources, packed_destinations: packedDestinations)
        let blocks = Int(ck_match_source_block_count(k, Int64(sourceCount)))
        let panels = Int(ck_match_destination_panel_count(k, Int64(destinationCount)))
        withUnsafePointer(to: &problem) { problem in
            MatchWorkspace.chunked(blocks, chunk: 8, pool: pool) { ck_match_pack_sources(k, problem, $0, $1) }
            MatchWorkspace.chunked(panels, chunk: 8, pool: pool) { ck_match_pack_destinations(k, problem, $0, $1) }
            // Each participant owns one scratch area and claims blocks until none are left.
            ck_atomic_store(nextBlock, 0)
            pool.parallelFor(participants) { participant in
                let area = scratch + participant * scratchBytes
                while true {
                    let block = ck_atomic_fetch_add(nextBlock, 1)
                    if block >= blocks { return }
                    ck_match_source_blocks(k, problem, block, block + 1, area, destination, score)
                }
            }
        }
        return nil
    }

    private func normalize(_ metric: UnsafePointer<Float>, tokens: Int, pool: ThreadPool) -> Int? {
        let rowsPerChunk = 256
        let chunks = (tokens + rowsPerChunk - 1) / rowsPerChunk
        var firstBad = [Int](repeating: -1, count: chunks)
        let unit = normalized.assumingMemoryBound(to: Float.self)
        firstBad.withUnsafeMutableBufferPointer { firstBad in
            pool.parallelFor(chunks) { chunk in
                let start = chunk * rowsPerChunk, rows = min(rowsPerChunk, tokens - start)
                let bad = ck_match_normalize(kernel.kernel, metric + start * channels, Int64(rows), Int64(channels),
                                             unit + start * channels)
                if bad >= 0 { firstBad[chunk] = start + Int(bad) }
            }
        }
        return firstBad.first { $0 >= 0 }
    }

    /// Runs `body(begin, end)` over `0 ..< count` in chunks spread over the pool.
    private static func chunked(_ count: Int, chunk: Int, pool: ThreadPool, _ body: (Int64, Int64) -> Void) {
        pool.parallelFor((count + chunk - 1) / chunk) { i in
            body(Int64(i * chunk), Int64(min(count, (i + 1) * chunk)))
        }
    }
}

/// Grow-only, 64-byte aligned buffers; one set is cached between searches (a concurrent search gets its own).
private final class Buffers {
    private var pointers = [UnsafeMutableRawPointer?](repeating: nil, count: 5)
    private var capacities = [Int](repeating: 0, count: 5)
    private var totalBytes: Int { capacities.reduce(0, +) }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Buffers?

    static func take() -> Buffers {
        lock.lock()
        defer { lock.unlock() }
        let buffers = cached ?? Buffers()
        cached = nil
        return buffers
    }

    /// Returns `buffers` to the cache, keeping whichever set is larger.
    static func give(_ buffers: Buffers) {
        lock.lock()
        defer { lock.unlock() }
        if (cached?.totalBytes ?? -1) < buffers.totalBytes { cached = buffers }
    }

    /// Buffer `index` with room for at least `bytes` (contents undefined).
    func reserve(_ index: Int, bytes: Int) -> UnsafeMutableRawPointer {
        if let pointer = pointers[index], capacities[index] >= bytes { return pointer }
        pointers[index]?.deallocate()
        let capacity = max(bytes, 64)
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        pointers[index] = pointer
        capacities[index] = capacity
        return pointer
    }

    deinit {
        for pointer in pointers { pointer?.deallocate() }
    }
}
