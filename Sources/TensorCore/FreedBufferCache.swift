import CKernels
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
/// When the work changes shape (the VAE decoder after the UNet, the first UNet step after loading), no cached
/// buffer fits the new sizes. On Linux, huge buffers are whole mapped pages (``TensorStorage``), so a miss for one is
/// assembled from the pages of cached buffers instead (oldest first, moved, not copied: ``ck_pages_move``); only
/// the rest is fresh memory.
///
/// Memory: the cache lets the process grow at most an eighth above the most its large buffers ever needed at once.
/// It tracks the bytes in use and their high-water mark; a miss frees cached buffers, oldest first, until cached plus
/// in use fits under that mark plus an eighth again. At most ``capacityBytes`` are cached at any time.
final class FreedBufferCache: @unchecked Sendable {
    /// A buffer: `bytes` at `pointer`, whole mapped pages (``ck_pages_map``) when `mapped`, else a malloc block.
    struct Buffer {
        let pointer: UnsafeMutableRawPointer
        let bytes: Int
        let mapped: Bool

        /// Fresh whole pages for at least `bytes` (rounded up to ``CK_PAGES_GRANULE``), those wholly inside `bytes`
        /// marked for huge pages, so a partly used last granule is backed only where it is touched; nil where pages
        /// cannot move or the system refuses.
        static func mapping(bytes: Int) -> Buffer? {
            let granule = Int(CK_PAGES_GRANULE)
            let size = (bytes + granule - 1) / granule * granule
            guard ck_pages_supported() != 0, let pointer = ck_pages_map(size, bytes / granule * granule) else {
                return nil
            }
            return Buffer(pointer: pointer, bytes: size, mapped: true)
        }

        /// Gives the buffer back to the system.
        func release() {
            if mapped { ck_pages_unmap(pointer, bytes) } else { free(pointer) }
        }
    }

    /// The process-wide cache behind ``TensorStorage``.
    static let shared = FreedBufferCache()

    /// Buffers smaller than this go back to the allocator (which reuses small blocks well already).
    let minimumBytes = 256 << 10
    /// The most memory kept cached.
    let capacityBytes = 1 << 30

    private let lock = NSLock()
    /// Cached buffers, oldest first.
    private var entries: [Buffer] = []
    private var cachedBytes = 0
    /// Bytes of large buffers handed out and not yet given back, and the most there ever were.
    private var bytesInUse = 0, highWaterBytes = 0

    /// Bytes held in the cache now.
    var cachedByteCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return cachedBytes
    }

    /// A buffer of at least `bytes`: the smallest cached one of `bytes` to twice that; else, for a huge request
    /// where pages can move, a new mapping filled with the pages of cached buffers. Nil when the caller must
    /// allocate one (after the cache freed what it must to stay under its bound).
    func take(bytes: Int) -> Buffer? {
        guard bytes >= minimumBytes else { return nil }
        var evicted: [Buffer] = []
        defer { evicted.forEach { $0.release() } }
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
            return entry
        }
        let assembled = bytes >= TensorStorage.hugePageThreshold ? assemble(bytes: bytes) : nil
        bytesInUse += assembled?.bytes ?? bytes
        while bytesInUse + cachedBytes > max(highWaterBytes + highWaterBytes / 8, bytesInUse), !entries.isEmpty {
            let oldest = entries.removeFirst()
            cachedBytes -= oldest.bytes
            evicted.append(oldest)
        }
        highWaterBytes = max(highWaterBytes, bytesInUse)
        return assembled
    }

    /// A new mapping of `bytes` (rounded up to whole pages) that holds, as far as they go, the pages of cached
    /// mapped buffers, oldest first (a buffer only partly needed stays cached with the rest of its pages); nil when
    /// pages cannot move or no cached buffer has any. Called with the lock held.
    private func assemble(bytes: Int) -> Buffer? {
        guard entries.contains(where: \.mapped), let destination = Buffer.mapping(bytes: bytes) else { return nil }
        var filled = 0, index = 0
        while filled < destination.bytes, index < entries.count {
            let entry = entries[index]
            let moved = min(entry.bytes, destination.bytes - filled)
            guard entry.mapped, ck_pages_move(entry.pointer, moved, destination.pointer + filled) == 0 else {
                index += 1
                continue
            }
            filled += moved
            cachedBytes -= moved
            if moved == entry.bytes {
                entries.remove(at: index)
            } else {
                entries[index] = Buffer(pointer: entry.pointer + moved, bytes: entry.bytes - moved, mapped: true)
            }
        }
        return destination
    }

    /// Takes back `buffer` and keeps it for reuse, or releases it when too small or too large.
    func give(_ buffer: Buffer) {
        guard buffer.bytes >= minimumBytes else { return buffer.release() }
        var evicted: [Buffer] = []
        defer { evicted.forEach { $0.release() } }
        lock.lock()
        defer { lock.unlock() }
        bytesInUse -= buffer.bytes
        guard buffer.bytes <= capacityBytes else { return evicted.append(buffer) }
        while cachedBytes + buffer.bytes > capacityBytes, !entries.isEmpty {
            let oldest = entries.removeFirst()
            cachedBytes -= oldest.bytes
            evicted.append(oldest)
        }
        entries.append(buffer)
        cachedBytes += buffer.bytes
    }
}
