import TensorCore

/// One buffer reused by every weight of a model construction — a parameter source's reads, a convolution's
/// reordering before packing — so that each writes into memory already faulted in instead of fresh pages. It grows
/// to the largest use and is freed with its owner.
final class ConversionWorkspace {
    private var storage: TensorStorage?

    /// Calls `body` with at least `count` floats of scratch memory, valid only inside `body`.
    func withBuffer<R>(count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        if let storage, storage.count >= count { return try body(storage.pointer) }
        let grown = TensorStorage(count: count, zeroed: false)
        storage = grown
        return try body(grown.pointer)
    }
}
