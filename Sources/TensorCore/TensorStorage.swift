import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reference-counted, 64-byte aligned buffer of `Float`s: the memory behind one or more `Tensor`s.
///
/// Alignment to a cache line lets the SIMD kernels use aligned loads on whole tensors. Buffers of
/// ``hugePageThreshold`` bytes or more are aligned to 2 MiB and marked for transparent huge pages: first touching a
/// weight or activation then faults once per 2 MiB instead of once per 4 KiB, which was a third of the time it took
/// to load a UNet. On Linux they are whole pages mapped from the system (``ck_pages_map``), whose pages the
/// ``FreedBufferCache`` can later move into a buffer of another size.
public final class TensorStorage: @unchecked Sendable {
    /// The size from which a buffer is backed by huge pages where the system allows it.
    static let hugePageThreshold = 4 << 20
    /// The size of a huge page (x86_64 and arm64 Linux with 4 KiB base pages).
    static let hugePageSize = Int(CK_PAGES_GRANULE)

    /// Start of the buffer.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of `Float`s in the buffer.
    public let count: Int

    /// The memory behind the buffer (at least the `count` floats asked for; more when a larger freed one was reused
    /// or the size was rounded up to whole pages).
    private let buffer: FreedBufferCache.Buffer

    /// Allocates `count` floats; zero-filled when `zeroed` is true, otherwise uninitialised. A large buffer may be
    /// one freed earlier by a tensor of about the same size (see ``FreedBufferCache``).
    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        let requested = (bytes + 63) & ~63
        buffer = FreedBufferCache.shared.take(bytes: requested) ?? Self.allocate(bytes: requested)
        pointer = buffer.pointer.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    /// A fresh buffer of `bytes` (a multiple of 64): whole mapped pages for a huge one where pages can move, else
    /// malloc memory (aligned to 2 MiB and marked for huge pages when huge).
    private static func allocate(bytes: Int) -> FreedBufferCache.Buffer {
        let huge = bytes >= hugePageThreshold
        if huge && ck_pages_supported() != 0 {
            // Mapping only fails on out-of-memory, where Swift's own allocator would trap as well.
            guard let buffer = FreedBufferCache.Buffer.mapping(bytes: bytes) else {
                fatalError("TensorStorage: out of memory mapping \(bytes) bytes")
            }
            return buffer
        }
        var raw: UnsafeMutableRawPointer?
        // posix_memalign only fails on out-of-memory, where Swift's own allocator would trap as well.
        if posix_memalign(&raw, huge ? hugePageSize : 64, bytes) != 0 || raw == nil {
            fatalError("TensorStorage: out of memory allocating \(bytes) bytes")
        }
        #if os(Linux)
        // Whole huge pages only: the tail stays on small pages, so no tensor holds memory past its end.
        if huge { _ = madvise(raw, bytes & ~(hugePageSize - 1), MADV_HUGEPAGE) }
        #endif
        return FreedBufferCache.Buffer(pointer: raw!, bytes: bytes, mapped: false)
    }

    deinit { FreedBufferCache.shared.give(buffer) }
}
