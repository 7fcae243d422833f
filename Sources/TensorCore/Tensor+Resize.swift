import CKernels

extension Tensor {
    /// The `[B, H, W, C]` feature map resized to `[B, height, width, C]` by `method` (see ``ResizeMethod``; the
    /// results are PyTorch's for the same NCHW tensor, up to float rounding).
    ///
    /// The pooling methods use the kernel `k = H / height` on both axes (the ToDo reference's rule), whose output
    /// `H / k × W / k` must then be `height × width`.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` for a tensor that is not rank 4 with a non-empty grid, a target
    ///   size below 1 or above the grid for pooling, or a pooling kernel whose output is not the requested size.
    public func resizedNHWC(height: Int, width: Int, method: ResizeMethod) throws -> Tensor {
        guard rank == 4, shape[1] >= 1, shape[2] >= 1, height >= 1, width >= 1 else {
            throw TensorError.shapeMismatch("resize \(method.rawValue): expected a [B, H, W, C] tensor and a size of "
                + "at least 1 × 1, got \(shape) → \(height) × \(width)")
        }
        let (batch, inHeight, inWidth, channels) = (shape[0], shape[1], shape[2], shape[3])
        var kernel = 1
        if method.isPooling {
            kernel = inHeight / height
            guard kernel >= 1, inHeight / kernel == height, inWidth / kernel == width else {
                throw TensorError.shapeMismatch("resize \(method.rawValue): a kernel of \(inHeight) / \(height) = "
                    + "\(kernel) pools \(inHeight) × \(inWidth) to \(kernel >= 1 ? inHeight / kernel : 0) × "
                    + "\(kernel >= 1 ? inWidth / kernel : 0), not \(height) × \(width)")
            }
        }
        let vertical = ResizeTaps(method: method, from: inHeight, to: height, kernel: kernel)
        let horizontal = ResizeTaps(method: method, from: inWidth, to: width, kernel: kernel)
        var result = Tensor(zeros: [batch, height, width, channels])
        guard result.count > 0 else { return result }
        let takeMax: Int32 = method == .maxPool ? 1 : 0
        let rowWork = max(1, width * channels * vertical.taps * horizontal.taps)
        result.withUnsafeMutableBufferPointer { out in
            withUnsafeBufferPointer { input in
                let (source, destination) = (input.baseAddress!, out.baseAddress!)
                ThreadPool.shared.parallelRanges(batch * height, grain: max(1, Tensor.elementwiseGrain / rowWork)) { rows in
                    ck_resize_rows(source, destination, inHeight, inWidth, height, width, channels, rows.lowerBound,
                                   rows.upperBound, vertical.taps, vertical.index, vertical.weight, horizontal.taps,
                                   horizontal.index, horizontal.weight, takeMax)
                }
            }
        }
        return result
    }
}

/// One axis's source indices and weights (the C kernels' taps) for a resize from `in` to `out` positions.
private struct ResizeTaps {
    let taps: Int
    let index: [Int64]
    let weight: [Float]

    init(method: ResizeMethod, from input: Int, to output: Int, kernel: Int) {
        let tapCount = ck_resize_tap_count(method.kernelMethod, input, output, kernel)
        let count = tapCount * output
        var indices = [Int64](repeating: 0, count: count)
        var weights = [Float](repeating: 0, count: count)
        if count > 0 {
            indices.withUnsafeMutableBufferPointer { indexBuffer in
                weights.withUnsafeMutableBufferPointer { weightBuffer in
                    ck_resize_taps(method.kernelMethod, input, output, kernel, tapCount, indexBuffer.baseAddress!,
                                   weightBuffer.baseAddress!)
                }
            }
        }
        taps = tapCount
        index = indices
        weight = weights
    }
}
