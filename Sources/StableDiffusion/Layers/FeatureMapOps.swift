import CKernels
import TensorCore

/// Element-wise `a + b` of two tensors of one shape.
/// - Throws: ``TensorError/shapeMismatch(_:)`` when the shapes differ.
func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.shape == b.shape else { throw TensorError.shapeMismatch("add: \(a.shape) and \(b.shape)") }
    var y = Tensor(uninitialized: a.shape)
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            y.withUnsafeMutableBufferPointer { py in
                ThreadPool.shared.parallelChunks(a.count, grain: 1 << 16) { range in
                    ck_nn_add(pa.baseAddress! + range.lowerBound, pb.baseAddress! + range.lowerBound,
                              py.baseAddress! + range.lowerBound, Int64(range.count))
                }
            }
        }
    }
    return y
}

/// SiLU of every element.
func silu(_ x: Tensor) -> Tensor {
    var y = Tensor(uninitialized: x.shape)
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in ck_nn_silu(px.baseAddress!, py.baseAddress!, Int64(x.count)) }
    }
    return y
}

/// `[B, H, W, C1]` and `[B, H, W, C2]` → `[B, H, W, C1 + C2]` (PyTorch's `cat(dim=1)` on NCHW).
/// - Throws: ``TensorError/shapeMismatch(_:)`` when batch or spatial sizes differ.
func concatChannels(_ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard a.rank == 4, b.rank == 4, a.shape.prefix(3) == b.shape.prefix(3) else {
        throw TensorError.shapeMismatch("channel concatenation of \(a.shape) and \(b.shape)")
    }
    let (ca, cb) = (a.shape[3], b.shape[3])
    let pixels = a.count / ca
    var y = Tensor(uninitialized: Array(a.shape.prefix(3)) + [ca + cb])
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            y.withUnsafeMutableBufferPointer { py in
                ThreadPool.shared.parallelChunks(pixels, grain: 256) { range in
                    for p in range {
                        (py.baseAddress! + p * (ca + cb)).update(from: pa.baseAddress! + p * ca, count: ca)
                        (py.baseAddress! + p * (ca + cb) + ca).update(from: pb.baseAddress! + p * cb, count: cb)
                    }
                }
            }
        }
    }
    return y
}

/// Nearest-neighbour resize of `[B, H, W, C]` to `height` × `width`, choosing source pixels as PyTorch's
/// `interpolate(mode="nearest")` does: `floor(dst · (in / out))` in single precision, exact halving when doubling.
func upsampleNearest(_ x: Tensor, height: Int, width: Int) -> Tensor {
    let (batch, inHeight, inWidth, channels) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    func sourceIndex(_ destination: Int, _ input: Int, _ output: Int) -> Int {
        if output == 2 * input { return destination >> 1 }
        let scale = Float(input) / Float(output)
        return min(Int((Float(destination) * scale).rounded(.down)), input - 1)
    }
    let columns = (0..<width).map { sourceIndex($0, inWidth, width) }
    var y = Tensor(uninitialized: [batch, height, width, channels])
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in
            ThreadPool.shared.parallelChunks(batch * height, grain: 1) { range in
                for row in range {
                    let (b, oy) = row.quotientAndRemainder(dividingBy: height)
                    let source = px.baseAddress! + (b * inHeight + sourceIndex(oy, inHeight, height)) * inWidth * channels
                    let destination = py.baseAddress! + row * width * channels
                    for (ox, ix) in columns.enumerated() {
                        (destination + ox * channels).update(from: source + ix * channels, count: channels)
                    }
                }
            }
        }
    }
    return y
}

/// Adds `bias[b]` (`[B, C]`) to every pixel of batch item b of `x` (`[B, ..., C]`), in place.
func addPerBatchChannels(_ x: inout Tensor, _ bias: Tensor) {
    let (batch, channels) = (bias.shape[0], bias.shape[1])
    let pixels = x.count / (batch * channels)
    bias.withUnsafeBufferPointer { pb in
        x.withUnsafeMutableBufferPointer { px in
            ThreadPool.shared.parallelChunks(batch * pixels, grain: 256) { range in
                for p in range {
                    let row = px.baseAddress! + p * channels
                    ck_nn_add(row, pb.baseAddress! + (p / pixels) * channels, row, Int64(channels))
                }
            }
        }
    }
}
