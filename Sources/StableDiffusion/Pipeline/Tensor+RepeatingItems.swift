import TensorCore

extension Tensor {
    /// Each item along the first axis repeated `count` times in place (`[a, b]` → `[a, a, b, b]` for 2):
    /// PyTorch's `repeat_interleave(count, dim=0)`, which is how diffusers repeats prompt embeddings and an init
    /// image's latents for several images per prompt.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a rank-0 tensor or a count below 1.
    func repeatingItems(_ count: Int) throws -> Tensor {
        guard rank >= 1, count >= 1 else {
            throw TensorError.shapeMismatch("repeating items: needs rank ≥ 1 and count ≥ 1, got shape \(shape), count \(count)")
        }
        guard count > 1 else { return self }
        let items = shape[0], itemSize = shape[0] == 0 ? 0 : self.count / items
        var result = Tensor(uninitialized: [items * count] + shape.dropFirst())
        withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { destination in
                for item in 0..<items {
                    for copy in 0..<count {
                        let to = (item * count + copy) * itemSize
                        for i in 0..<itemSize { destination[to + i] = source[item * itemSize + i] }
                    }
                }
            }
        }
        return result
    }
}
