import CKernels
import TensorCore

/// SiLU of every element.
func silu(_ x: Tensor) -> Tensor {
    var y = Tensor(uninitialized: x.shape)
    x.withUnsafeBufferPointer { px in
        y.withUnsafeMutableBufferPointer { py in ck_nn_silu(px.baseAddress!, py.baseAddress!, x.count) }
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
            ThreadPool.shared.parallelRanges(batch * height, grain: 1) { range in
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
