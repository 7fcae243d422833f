import CKernels

/// The weight of a GEGLU layer (diffusers' `GEGLU`, the first half of SD's feed-forward blocks), packed once: a
/// linear map to `2 · inner` features whose first `inner` (the values) are multiplied by the GELU of the other
/// `inner` (the gates), `y = (x·Wᵥᵀ + bᵥ) · GELU(x·W_gᵀ + b_g)`.
///
/// With bfloat16 weights each panel of the GEMM kernel is packed with half a panel of value columns next to their
/// gate columns, so the GEMM gates every panel it computes while it is still in the L1 cache: the `2 · inner`-wide
/// hidden activations are never written out and read back. Otherwise (fp32 weights, or an `inner` that half a
/// panel does not divide, or a depth the kernel sums in several slices) the GEMM writes them and a GEGLU pass
/// follows. Both ways give the same bits.
public final class GEGLUProjection: @unchecked Sendable {
    /// Input features.
    public var inFeatures: Int { weight.k }
    /// Output features: half the projection's width.
    public let inner: Int
    /// `Wᵀ` (`[inFeatures × 2·inner]`), with interleaved halves when ``fused``.
    private let weight: PackedMatrix
    /// Whether the GEMM gates its own output (the weight packed with interleaved halves).
    package let fused: Bool

    /// Packs the PyTorch weight `[2·inner, inFeatures]` at `weight` (row stride `inFeatures`) in `precision`.
    public init(weight: UnsafePointer<Float>, inFeatures: Int, inner: Int, precision: Precision,
                pool: ThreadPool = .shared) {
        self.inner = inner
        let ld = max(inFeatures, 1)
        let kernel = BF16GEMMKernel.active
        let halfPanel = kernel.nr / 2
        fused = precision == .bf16 && kernel.nr % 2 == 0 && inner > 0 && inner % halfPanel == 0 && inFeatures > 0
            && PackedMatrix.Layout(k: inFeatures, n: 2 * inner, variant: .bf16(kernel)).slices.count == 1
        if fused {
            self.weight = PackedMatrix(interleavingHalvesOf: weight, k: inFeatures, n: 2 * inner, ldw: ld, pool: pool)
        } else {
            self.weight = PackedMatrix(k: inFeatures, n: 2 * inner, b: weight, ldb: ld, transposed: true,
                                       precision: precision, pool: pool)
        }
    }

    /// `GEGLU(x)` for `x` `[..., inFeatures]` and `bias` `[2·inner]` (values' then gates'), or no bias: `[..., inner]`.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` when `x` does not end in `inFeatures` or `bias` is misshaped.
    public func apply(_ x: Tensor, bias: Tensor?, pool: ThreadPool = .shared) throws -> Tensor {
        guard x.rank >= 1, x.shape[x.rank - 1] == inFeatures else {
            throw TensorError.shapeMismatch("GEGLU: input shape \(x.shape) does not end in \(inFeatures)")
        }
        if let bias, bias.shape != [2 * inner] {
            throw TensorError.shapeMismatch("GEGLU: bias has shape \(bias.shape), expected [\(2 * inner)]")
        }
        let rows = x.shape.dropLast().reduce(1, *)
        var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [inner])
        if fused, case .bf16(let kernel) = weight.layout.variant {
            y.withUnsafeMutableBufferPointer { out in
                guard let base = out.baseAddress, rows > 0 else { return }
                let panels = UnsafeRawPointer(weight.storage.pointer).assumingMemoryBound(to: UInt16.self)
                GEMM.multiplyBF16(m: rows, a: GEMM.Operand(base: x.storage.pointer, ld: inFeatures, transposed: false),
                                  kernel: kernel, packedB: panels, layout: weight.layout, columns: 0 ..< 2 * inner,
                                  destination: .gated(y: base, ldy: inner, bias: bias?.storage.pointer, half: inner),
                                  pool: pool)
            }
            return y
        }
        let hidden = try x.matmul(weight, bias: bias, pool: pool)
        hidden.withUnsafeBufferPointer { h in
            y.withUnsafeMutableBufferPointer { g in
                guard let source = h.baseAddress, let target = g.baseAddress else { return }
                pool.parallelRanges(rows, grain: max(1, 4096 / max(inner, 1))) { range in
                    ck_nn_geglu(source + range.lowerBound * 2 * inner, 2 * inner, range.count, inner, nil, nil,
                                target + range.lowerBound * inner, inner)
                }
            }
        }
        return y
    }
}
