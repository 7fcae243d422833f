import CKernels

/// Elementwise arithmetic.
///
/// The right operand broadcasts to the left one's shape: the shapes are aligned at their last axes and each
/// dimension of `rhs` must equal the matching dimension of `lhs` or be 1 (missing leading dimensions count as 1).
/// So a per-channel bias `[C]` adds to `[B, H, W, C]`, and a per-image embedding reshaped to `[B, 1, 1, C]` adds to
/// `[B, H, W, C]`. The result always has the left operand's shape.
extension Tensor {
    /// `lhs + rhs`, `rhs` broadcast to `lhs`'s shape.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `rhs` does not broadcast to `lhs`.
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, CK_BINARY_ADD) }

    /// `lhs - rhs`, `rhs` broadcast to `lhs`'s shape.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `rhs` does not broadcast to `lhs`.
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, CK_BINARY_SUB) }

    /// `lhs * rhs` elementwise, `rhs` broadcast to `lhs`'s shape.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `rhs` does not broadcast to `lhs`.
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.combined(with: rhs, CK_BINARY_MUL) }

    /// Adds `rhs` (broadcast) to `lhs` in place.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `rhs` does not broadcast to `lhs`; `lhs` is then unchanged.
    public static func += (lhs: inout Tensor, rhs: Tensor) throws { try lhs.combine(with: rhs, CK_BINARY_ADD) }

    /// Subtracts `rhs` (broadcast) from `lhs` in place.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `rhs` does not broadcast to `lhs`; `lhs` is then unchanged.
    public static func -= (lhs: inout Tensor, rhs: Tensor) throws { try lhs.combine(with: rhs, CK_BINARY_SUB) }

    /// Multiplies `lhs` by `rhs` (broadcast) elementwise, in place.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `rhs` does not broadcast to `lhs`; `lhs` is then unchanged.
    public static func *= (lhs: inout Tensor, rhs: Tensor) throws { try lhs.combine(with: rhs, CK_BINARY_MUL) }

    /// Every element of `lhs` multiplied by `rhs`.
    public static func * (lhs: Tensor, rhs: Float) -> Tensor {
        var result = Tensor(uninitialized: lhs.shape)
        result.withUnsafeMutableBufferPointer { out in
            lhs.withUnsafeBufferPointer { a in Tensor.applyScalar(CK_BINARY_MUL, a.baseAddress!, rhs, out.baseAddress!, a.count) }
        }
        return result
    }

    /// Multiplies every element of `lhs` by `rhs`, in place.
    public static func *= (lhs: inout Tensor, rhs: Float) {
        lhs.withUnsafeMutableBufferPointer { out in Tensor.applyScalar(CK_BINARY_MUL, out.baseAddress!, rhs, out.baseAddress!, out.count) }
    }

    /// Elements below which the arithmetic stays on the calling thread.
    static let elementwiseGrain = 1 << 15

    private func combined(with rhs: Tensor, _ op: ck_binary_op) throws -> Tensor {
        let plan = try Broadcast(lhs: shape, rhs: rhs.shape, op)
        var result = Tensor(uninitialized: shape)
        result.withUnsafeMutableBufferPointer { out in
            withUnsafeBufferPointer { a in
                rhs.withUnsafeBufferPointer { b in plan.apply(op, a.baseAddress!, b.baseAddress!, out.baseAddress!) }
            }
        }
        return result
    }

    private mutating func combine(with rhs: Tensor, _ op: ck_binary_op) throws {
        let plan = try Broadcast(lhs: shape, rhs: rhs.shape, op)
        withUnsafeMutableBufferPointer { out in
            rhs.withUnsafeBufferPointer { b in plan.apply(op, out.baseAddress!, b.baseAddress!, out.baseAddress!) }
        }
    }

    private static func applyScalar(_ op: ck_binary_op, _ a: UnsafePointer<Float>, _ b: Float, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        ThreadPool.shared.parallelRanges(count, grain: elementwiseGrain) { range in
            ck_binary_scalar_f32(op, a + range.lowerBound, b, out + range.lowerBound, range.count)
        }
    }
}

/// How `rhs` maps onto `lhs` when one broadcasts to the other, reduced to runs of contiguous `lhs` elements.
///
/// Dimensions of size 1 in `lhs` are dropped and neighbouring dimensions that are all matched (or all broadcast)
/// merge, so the walk is over `outer.count` runs of `inner` elements: per run, `rhs` supplies either a matching run of
/// `inner` elements (`innerMatches`) or one element applied to the whole run.
private struct Broadcast {
    /// The merged outer dimensions and the `rhs` element stride of each (0 where `rhs` broadcasts).
    var outer = StridedWalk(sizes: [], strides: [])
    var inner = 1
    var innerMatches = true

    init(lhs: [Int], rhs: [Int], _ op: ck_binary_op) throws {
        let padded = [Int](repeating: 1, count: max(0, lhs.count - rhs.count)) + rhs
        guard rhs.count <= lhs.count, zip(lhs, padded).allSatisfy({ $1 == $0 || $1 == 1 }) else {
            throw TensorError.shapeMismatch("\(Broadcast.name(of: op)): shape \(rhs) does not broadcast to \(lhs)")
        }
        var groups: [(size: Int, matches: Bool)] = []
        for (size, other) in zip(lhs, padded) where size != 1 {
            let matches = other == size
            if let last = groups.last, last.matches == matches {
                groups[groups.count - 1].size *= size
            } else {
                groups.append((size, matches))
            }
        }
        guard let last = groups.popLast() else { return }  // a single element
        (inner, innerMatches) = (last.size, last.matches)
        var (stride, strides) = (last.matches ? last.size : 1, [Int]())
        for group in groups.reversed() {
            strides.insert(group.matches ? stride : 0, at: 0)
            if group.matches { stride *= group.size }
        }
        outer = StridedWalk(sizes: groups.map(\.size), strides: strides)
    }

    static func name(of op: ck_binary_op) -> String {
        switch op {
        case CK_BINARY_ADD: return "add"
        case CK_BINARY_SUB: return "subtract"
        default: return "multiply"
        }
    }

    /// `out = a op b` over every element (`out` may be `a`).
    func apply(_ op: ck_binary_op, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        guard inner > 0 else { return }
        if outer.sizes.isEmpty && innerMatches {
            // Same shapes (up to 1s): one flat loop, split between threads.
            ThreadPool.shared.parallelRanges(inner, grain: Tensor.elementwiseGrain) { range in
                ck_binary_f32(op, a + range.lowerBound, b + range.lowerBound, out + range.lowerBound, range.count)
            }
            return
        }
        ThreadPool.shared.parallelRanges(outer.count, grain: max(1, Tensor.elementwiseGrain / inner)) { rows in
            for row in rows {
                let (start, offset) = (row * inner, outer.offset(of: row))
                if innerMatches {
                    ck_binary_f32(op, a + start, b + offset, out + start, inner)
                } else {
                    ck_binary_scalar_f32(op, a + start, b[offset], out + start, inner)
                }
            }
        }
    }
}
