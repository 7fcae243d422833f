/// A dense, contiguous, row-major `Float` tensor with value semantics.
///
/// Storage is shared between copies and reshapes and copied on the first write through
/// ``withUnsafeMutableBufferPointer(_:)`` when it is shared (copy-on-write). Layout conventions used across the
/// package: tokens `[B, N, C]`, images and feature maps NHWC `[B, H, W, C]`.
public struct Tensor: @unchecked Sendable {
    /// The size of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The buffer holding the elements (`count` of them, row-major).
    public private(set) var storage: TensorStorage

    /// Number of elements (the product of `shape`; 1 for a scalar with `shape == []`).
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(count: shape.reduce(1, *), zeroed: true)
    }

    /// A tensor whose elements are not initialised: the caller must write every element before reading.
    public init(uninitialized shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(count: shape.reduce(1, *), zeroed: false)
    }

    /// A tensor with the given elements in row-major order.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `scalars.count` is not the product of `shape`,
    ///   or a dimension is negative.
    public init(shape: [Int], scalars: [Float]) throws {
        try Tensor.validate(shape: shape)
        let count = shape.reduce(1, *)
        guard scalars.count == count else {
            throw TensorError.shapeMismatch("\(scalars.count) scalars for shape \(shape) (\(count) elements)")
        }
        self.init(uninitialized: shape)
        scalars.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// Wraps existing storage (no copy). `storage.count` must be at least the product of `shape`.
    public init(shape: [Int], storage: TensorStorage) throws {
        try Tensor.validate(shape: shape)
        guard shape.reduce(1, *) <= storage.count else {
            throw TensorError.shapeMismatch("shape \(shape) needs \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        }
        self.shape = shape
        self.storage = storage
    }

    /// The elements in row-major order, copied into an array.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The same elements viewed with another shape (no copy). One dimension may be `-1` and is inferred.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when the element counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch("cannot reshape \(shape) to \(newShape)")
            }
            resolved[inferred] = count / known
        }
        try Tensor.validate(shape: resolved)
        guard resolved.reduce(1, *) == count else {
            throw TensorError.shapeMismatch("cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        var copy = self
        copy.shape = resolved
        return copy
    }

    /// Calls `body` with the elements, read-only.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// Calls `body` with the elements, writable; copies the storage first if another tensor shares it (a residual
    /// stream added onto in place while the caller keeps its input: large copies are spread over the threads).
    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if !isKnownUniquelyReferenced(&storage) {
            let (fresh, source) = (TensorStorage(count: count, zeroed: false), storage.pointer)
            ThreadPool.shared.parallelRanges(count, grain: Tensor.elementwiseGrain) { range in
                (fresh.pointer + range.lowerBound).update(from: source + range.lowerBound, count: range.count)
            }
            storage = fresh
        }
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Element at a multi-dimensional index (bounds-checked; for tests and small tools, not hot loops).
    public subscript(_ index: Int...) -> Float {
        var offset = 0
        for (i, dim) in zip(index, shape) {
            precondition(i >= 0 && i < dim, "Tensor index \(index) out of bounds for shape \(shape)")
            offset = offset * dim + i
        }
        precondition(index.count == shape.count, "Tensor index \(index) has the wrong rank for shape \(shape)")
        return storage.pointer[offset]
    }

    static func validate(shape: [Int]) throws {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw TensorError.shapeMismatch("negative dimension \(bad) in shape \(shape)")
        }
    }
}

extension Tensor: Equatable {
    /// Exact equality of shape and elements.
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.withUnsafeBufferPointer { a in rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) } }
    }
}
