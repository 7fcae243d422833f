import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Large freed tensor buffers, kept for the next tensor of the same size.
///
/// A UNet step allocates and frees the same activation sizes every step. Returned to the system, each large buffer
/// comes back as fresh pages that the kernel must fault in and zero on first touch: 10–15 % of a bf16 step at batch
/// 2. Kept here, the next tensor of about that size (up to twice it) reuses the pages as they are.
///
/// Memory: the cache lets the process grow at most an eighth above the most its large buffers ever needed at once.
/// It tracks the bytes in use and their high-water mark; a miss frees cached buffers, oldest first, until cached plus
/// in use fits under that mark plus an eighth again. At most ``capacityBytes`` are cached at any time.
final class FreedBufferCache: @unchecked Sendable {
    /// The process-wide cache behind ``TensorStorage``.
    static let shared = FreedBufferCache()

    /// Buffers smaller than this go back to the allocator (which reuses small blocks well already).
    let minimumBytes = 256 << 10
    /// The most memory kept cached.
    let capacityBytes = 1 << 30

    private let lock = NSLock()
    /// Cached buffers, oldest first.
    private var entries: [(bytes: Int, pointer: UnsafeMutableRawPointer)] = []
    private var cachedBytes = 0
    /// Bytes of large buffers handed out and not yet given back, and the most there ever were.
    private var bytesInUse = 0, highWaterBytes = 0

    /// Bytes held in the cache now.
    var cachedByteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return cachedBytes
    }

    /// The smallest cached buffer of `bytes` to twice that (with its size), or nil when the caller must allocate
    /// one (after the cache freed what it must to stay under its bound).
    func take(bytes: Int) -> (pointer: UnsafeMutableRawPointer, bytes: Int)? {
        guard bytes >= minimumBytes else { return nil }
        var evicted: [UnsafeMutableRawPointer] = []
        defer { evicted.forEach { free($0) } }
        lock.lock()
        defer { lock.unlock() }
        var best: Int?
        for (index, entry) in entries.enumerated() where entry.bytes >= bytes && entry.bytes / 2 <= bytes {
            if best.map({ entry.bytes <= entries[$0].bytes }) ?? true { best = index }  // ties: the most recent
        }
        if let best {
            let entry = entries.remove(at: best)
            cachedBytes -= entry.bytes
            bytesInUse += entry.bytes
            highWaterBytes = max(highWaterBytes, bytesInUse)
            return (entry.pointer, entry.bytes)
        }
        bytesInUse += bytes
        while bytesInUse + cachedBytes > max(highWaterBytes + highWaterBytes / 8, bytesInUse), !entries.isEmpty {
            let oldest = entries.removeFirst()
            cachedBytes -= oldest.bytes
            evicted.append(oldest.pointer)
        }
        highWaterBytes = max(highWaterBytes, bytesInUse)
        return nil
    }

    /// Takes back `pointer` (a buffer of `bytes`) and keeps it for reuse, or frees it when too small or too large.
    func give(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        guard bytes >= minimumBytes else { return free(pointer) }
        var evicted: [UnsafeMutableRawPointer] = []
        defer { evicted.forEach { free($0) } }
        lock.lock()
        defer { lock.unlock() }
        bytesInUse -= bytes
        guard bytes <= capacityBytes else { return evicted.append(pointer) }
        while cachedBytes + bytes > capacityBytes, !entries.isEmpty {
            let oldest = entries.removeFirst()
            cachedBytes -= oldest.bytes
            evicted.append(oldest.pointer)
        }
        entries.append((bytes, pointer))
        cachedBytes += bytes
    }
}
