import TensorCore

/// One buffer reused by the weight conversions of a model construction (transposes before packing), so that each
/// conversion writes into memory already faulted in instead of fresh pages. It grows to the largest conversion and
/// is freed with the last scope that shares it.
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
