#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reference-counted, 64-byte aligned buffer of `Float`s: the memory behind one or more `Tensor`s.
///
/// Alignment to a cache line lets the SIMD kernels use aligned loads on whole tensors.
public final class TensorStorage: @unchecked Sendable {
    /// Start of the buffer.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of `Float`s in the buffer.
    public let count: Int

    /// Allocates `count` floats; zero-filled when `zeroed` is true, otherwise uninitialised.
    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        var raw: UnsafeMutableRawPointer?
        // posix_memalign only fails on out-of-memory, where Swift's own allocator would trap as well.
        if posix_memalign(&raw, 64, (bytes + 63) & ~63) != 0 || raw == nil {
            fatalError("TensorStorage: out of memory allocating \(bytes) bytes")
        }
        pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: count) }
    }

    deinit { free(pointer) }
}
