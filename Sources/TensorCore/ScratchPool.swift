import Foundation

/// Reusable 64-byte aligned scratch buffers (GEMM's packed panels), so hot paths do not allocate on every call.
///
/// A buffer is checked out for the duration of a closure and handed back afterwards; the most recently returned
/// buffer is handed out first, so a thread that packs again usually gets memory that is still in its cache.
/// At most ``maxRetained`` buffers are kept, and none larger than ``maxRetainedCount`` floats.
final class ScratchPool: @unchecked Sendable {
    /// The process-wide pool.
    static let shared = ScratchPool()

    /// Number of idle buffers kept for reuse.
    let maxRetained = 32
    /// Largest buffer (in floats) kept for reuse; larger ones are freed when returned.
    let maxRetainedCount = 16 << 20

    private let lock = NSLock()
    private var idle: [TensorStorage] = []

    /// Calls `body` with a buffer of at least `count` uninitialised floats, valid only inside `body`.
    func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buffer = take(count: count)
        defer { give(buffer) }
        return try body(buffer.pointer)
    }

    private func take(count: Int) -> TensorStorage {
        lock.lock()
        if let index = idle.lastIndex(where: { $0.count >= count }) {
            let buffer = idle.remove(at: index)
            lock.unlock()
            return buffer
        }
        lock.unlock()
        return TensorStorage(count: count, zeroed: false)
    }

    private func give(_ buffer: TensorStorage) {
        guard buffer.count <= maxRetainedCount else { return }
        lock.lock()
        defer { lock.unlock() }
        idle.append(buffer)
        if idle.count > maxRetained, let smallest = idle.indices.min(by: { idle[$0].count < idle[$1].count }) {
            idle.remove(at: smallest)
        }
    }
}
