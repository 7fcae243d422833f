import TensorCore

/// Element-by-element arithmetic on same-shaped tensors, for the schedulers' update rules. The closures spell out
/// each rule in the order diffusers' tensor expressions evaluate it, so the `Float` roundings are the same.
enum Elementwise {
    /// `transform` applied to every element of `a`.
    static func map(_ a: Tensor, _ transform: (Float) -> Float) -> Tensor {
        var result = Tensor(uninitialized: a.shape)
        a.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { out in
                for i in x.indices { out[i] = transform(x[i]) }
            }
        }
        return result
    }

    /// `combine` applied to matching elements of `a` and `b`.
    /// - Throws: ``SchedulerError/invalidStep(_:)`` when the shapes differ.
    static func map(_ a: Tensor, _ b: Tensor, _ combine: (Float, Float) -> Float) throws -> Tensor {
        try checkShapes(a, b)
        var result = Tensor(uninitialized: a.shape)
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                result.withUnsafeMutableBufferPointer { out in
                    for i in x.indices { out[i] = combine(x[i], y[i]) }
                }
            }
        }
        return result
    }

    /// `combine` applied to matching elements of `a`, `b` and `c`.
    /// - Throws: ``SchedulerError/invalidStep(_:)`` when the shapes differ.
    static func map(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ combine: (Float, Float, Float) -> Float) throws -> Tensor {
        try checkShapes(a, b)
        try checkShapes(a, c)
        var result = Tensor(uninitialized: a.shape)
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                c.withUnsafeBufferPointer { z in
                    result.withUnsafeMutableBufferPointer { out in
                        for i in x.indices { out[i] = combine(x[i], y[i], z[i]) }
                    }
                }
            }
        }
        return result
    }

    /// Throws unless `a` and `b` have the same shape.
    static func checkShapes(_ a: Tensor, _ b: Tensor) throws {
        guard a.shape == b.shape else {
            throw SchedulerError.invalidStep("model output shape \(b.shape) does not match sample shape \(a.shape)")
        }
    }
}
