import TensorCore

/// A 2-D convolution on NHWC feature maps, as PyTorch's `nn.Conv2d` (weight `[out, in, kh, kw]` in the file).
///
/// At load the weight is converted to `[out, kh, kw, in]`, so that one output pixel is a dot product of a weight
/// row with the input patch read pixel by pixel (each pixel's channels contiguous); the convolution is then a GEMM
/// of gathered patches (im2col) with the weight transposed.
public final class Conv2d {
    /// Zero padding on each side, in pixels.
    public struct Padding: Equatable, Sendable {
        /// Rows added above.
        public var top: Int
        /// Columns added on the left.
        public var left: Int
        /// Rows added below.
        public var bottom: Int
        /// Columns added on the right.
        public var right: Int

        /// The same padding `amount` on every side.
        public static func uniform(_ amount: Int) -> Padding { Padding(top: amount, left: amount, bottom: amount, right: amount) }

        /// Padding with each side given.
        public init(top: Int, left: Int, bottom: Int, right: Int) {
            self.top = top
            self.left = left
            self.bottom = bottom
            self.right = right
        }
    }

    /// The module path, for error messages.
    public let name: String
    /// Input channels.
    public let inChannels: Int
    /// Output channels.
    public let outChannels: Int
    /// Kernel height and width.
    public let kernelSize: Int
    /// Step between output pixels, in input pixels.
    public let stride: Int
    /// Zero padding around the input.
    public let padding: Padding
    /// `[outChannels, kernelSize * kernelSize * inChannels]`: rows in (ky, kx, channel) order.
    let weight: Tensor
    /// `[outChannels]`.
    let bias: Tensor

    /// A convolution whose parameters are `weight` and `bias` in `scope`.
    public init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Padding = .uniform(0)) {
        name = scope.path
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let fanIn = inChannels * kernelSize * kernelSize
        let stored = scope.parameter("weight", shape: [outChannels, inChannels, kernelSize, kernelSize], role: .weight(fanIn: fanIn))
        weight = Conv2d.patchMajor(stored, outChannels: outChannels, inChannels: inChannels, kernelSize: kernelSize)
        bias = scope.parameter("bias", shape: [outChannels], role: .bias(fanIn: fanIn))
    }

    /// The output height and width for an input of `height` × `width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + padding.top + padding.bottom - kernelSize) / stride + 1,
         (width + padding.left + padding.right - kernelSize) / stride + 1)
    }

    /// Convolves `x` `[B, H, W, inChannels]` into `[B, H', W', outChannels]`.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer for a wrong rank or channel count, or an input
    ///   smaller than the kernel.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4, x.shape[3] == inChannels else {
            throw TensorError.shapeMismatch("\(name): expected input [B, H, W, \(inChannels)], got \(x.shape)")
        }
        let (batch, height, width) = (x.shape[0], x.shape[1], x.shape[2])
        let out = outputSize(height: height, width: width)
        guard out.height >= 1, out.width >= 1, height + padding.top + padding.bottom >= kernelSize,
              width + padding.left + padding.right >= kernelSize else {
            throw TensorError.shapeMismatch("\(name): a \(height)×\(width) input is too small for a \(kernelSize)×\(kernelSize) kernel")
        }
        var y = Tensor(uninitialized: [batch, out.height, out.width, outChannels])
        let rows = batch * out.height * out.width
        let patchSize = kernelSize * kernelSize * inChannels
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                weight.withUnsafeBufferPointer { w in
                    if kernelSize == 1 && stride == 1 && padding == .uniform(0) {
                        GEMM.sgemm(m: rows, n: outChannels, k: patchSize, a: input.baseAddress!, lda: inChannels,
                                   b: w.baseAddress!, ldb: patchSize, transB: true, c: output.baseAddress!, ldc: outChannels)
                    } else {
                        var patches = Tensor(uninitialized: [rows, patchSize])
                        patches.withUnsafeMutableBufferPointer { p in
                            gatherPatches(input.baseAddress!, batch: batch, height: height, width: width,
                                          outHeight: out.height, outWidth: out.width, into: p.baseAddress!)
                            GEMM.sgemm(m: rows, n: outChannels, k: patchSize, a: p.baseAddress!, lda: patchSize,
                                       b: w.baseAddress!, ldb: patchSize, transB: true, c: output.baseAddress!, ldc: outChannels)
                        }
                    }
                }
                addRowBias(bias, rows: rows, to: output.baseAddress!, stride: outChannels)
            }
        }
        return y
    }

    /// im2col: row `(b, oy, ox)` of `patches` is the input patch under output pixel (oy, ox), zero outside the image.
    private func gatherPatches(_ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int,
                               outHeight: Int, outWidth: Int, into patches: UnsafeMutablePointer<Float>) {
        let patchSize = kernelSize * kernelSize * inChannels
        let (k, s, c, top, left) = (kernelSize, stride, inChannels, padding.top, padding.left)
        ThreadPool.shared.parallelChunks(batch * outHeight, grain: 1) { range in
            for outRow in range {
                let (b, oy) = outRow.quotientAndRemainder(dividingBy: outHeight)
                for ox in 0..<outWidth {
                    var destination = patches + ((b * outHeight + oy) * outWidth + ox) * patchSize
                    for ky in 0..<k {
                        let iy = oy * s - top + ky
                        for kx in 0..<k {
                            let ix = ox * s - left + kx
                            if iy >= 0 && iy < height && ix >= 0 && ix < width {
                                destination.update(from: input + ((b * height + iy) * width + ix) * c, count: c)
                            } else {
                                destination.update(repeating: 0, count: c)
                            }
                            destination += c
                        }
                    }
                }
            }
        }
    }

    /// `[out, in, k, k]` → `[out, k, k, in]`.
    private static func patchMajor(_ stored: Tensor, outChannels: Int, inChannels: Int, kernelSize: Int) -> Tensor {
        let taps = kernelSize * kernelSize
        var converted = Tensor(uninitialized: [outChannels, taps * inChannels])
        stored.withUnsafeBufferPointer { source in
            converted.withUnsafeMutableBufferPointer { destination in
                for o in 0..<outChannels {
                    for i in 0..<inChannels {
                        for t in 0..<taps {
                            destination[(o * taps + t) * inChannels + i] = source[(o * inChannels + i) * taps + t]
                        }
                    }
                }
            }
        }
        return converted
    }
}
