import TensorCore

extension ScaledDotProductAttention {
    /// The attention output of the `[B, N, heads·d]` tensors `q`, `k`, `v` laid out as `geometry` says, computed
    /// the `implementation` way: a new tensor shaped like `q`.
    static func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, geometry: Geometry,
                       implementation: AttentionImplementation, precision: Precision = .fp32) -> Tensor {
        attend(q, k, v) {
            compute(geometry, q: $0, k: $1, v: $2, out: $3, implementation: implementation, precision: precision)
        }
    }

    /// Hands `kernel` the buffers of `q`, `k`, `v` and of a new output tensor shaped like `q`, which it fills; the
    /// one place the attention layers (UNet, VAE, CLIP) reach their tensors' memory.
    static func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor,
                       kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        var attended = Tensor(uninitialized: q.shape)
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    attended.withUnsafeMutableBufferPointer { op in
                        kernel(qp.baseAddress!, kp.baseAddress!, vp.baseAddress!, op.baseAddress!)
                    }
                }
            }
        }
        return attended
    }
}
