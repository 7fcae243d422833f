import TensorCore

/// A 2-D convolution on NHWC feature maps, as PyTorch's `nn.Conv2d` (weight `[out, in, kh, kw]` in the file).
///
/// At load the weight is reordered to `[out, kh, kw, in]` and packed (``PackedMatrix``) as the right operand of a
/// GEMM: one output pixel is the dot product of a weight row with the input patch under it, read pixel by pixel
/// (each pixel's channels contiguous). A 1×1 convolution is then a single GEMM on the feature map itself; larger
/// kernels gather patches (im2col) tile by tile, each tile multiplied while it is in cache. The bias is added by
/// the GEMM epilogue.
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
    /// `[kernelSize² · inChannels × outChannels]`, rows in (ky, kx, channel) order, packed.
    let weight: PackedMatrix
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
        let patchMajor = Conv2d.patchMajor(stored, outChannels: outChannels, inChannels: inChannels, kernelSize: kernelSize)
        weight = PackedMatrix(k: fanIn, n: outChannels, b: patchMajor.storage.pointer, ldb: fanIn, transposed: true)
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
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                bias.withUnsafeBufferPointer { b in
                    if kernelSize == 1 && stride == 1 && padding == .uniform(0) {
                        GEMM.sgemm(m: batch * height * width, a: input.baseAddress!, lda: inChannels, b: weight,
                                   c: output.baseAddress!, ldc: outChannels, bias: b.baseAddress!)
                    } else {
                        let geometry = PatchGeometry(batch: batch, height: height, width: width, outHeight: out.height,
                                                     outWidth: out.width)
                        convolveByPatches(input.baseAddress!, geometry, output.baseAddress!, bias: b.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    /// Output pixels gathered per im2col tile: about a megabyte of patches.
    static let patchTileFloats = 1 << 18

    /// The sizes one im2col pass works with.
    private struct PatchGeometry {
        let batch: Int, height: Int, width: Int, outHeight: Int, outWidth: Int
        var outputPixels: Int { batch * outHeight * outWidth }
    }

    /// im2col tile by tile: each thread gathers the patches of a tile of output pixels into its own buffer and
    /// multiplies them by the packed weight, writing that tile of the output.
    private func convolveByPatches(_ input: UnsafePointer<Float>, _ g: PatchGeometry, _ output: UnsafeMutablePointer<Float>,
                                   bias: UnsafePointer<Float>) {
        let patchSize = weight.k
        let tileRows = max(16, Conv2d.patchTileFloats / patchSize)
        let tiles = (g.outputPixels + tileRows - 1) / tileRows
        let workers = min(ThreadPool.shared.threadCount, tiles)
        ThreadPool.shared.parallelFor(workers) { worker in
            let patches = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * patchSize)
            defer { patches.deallocate() }
            for tile in Swift.stride(from: worker, to: tiles, by: workers) {
                let first = tile * tileRows
                let rows = min(tileRows, g.outputPixels - first)
                gatherPatches(input, g, pixels: first ..< first + rows, into: patches)
                GEMM.sgemm(m: rows, a: patches, lda: patchSize, b: weight, c: output + first * outChannels,
                           ldc: outChannels, bias: bias)
            }
        }
    }

    /// im2col: row i of `patches` is the input patch under output pixel `pixels.lowerBound + i` (pixels numbered
    /// (b, oy, ox) row-major), zero outside the image.
    private func gatherPatches(_ input: UnsafePointer<Float>, _ g: PatchGeometry, pixels: Range<Int>,
                               into patches: UnsafeMutablePointer<Float>) {
        let (k, s, c, top, left) = (kernelSize, stride, inChannels, padding.top, padding.left)
        var destination = patches
        for pixel in pixels {
            let (image, position) = pixel.quotientAndRemainder(dividingBy: g.outHeight * g.outWidth)
            let (oy, ox) = position.quotientAndRemainder(dividingBy: g.outWidth)
            for ky in 0..<k {
                let iy = oy * s - top + ky
                for kx in 0..<k {
                    let ix = ox * s - left + kx
                    if iy >= 0 && iy < g.height && ix >= 0 && ix < g.width {
                        destination.update(from: input + ((image * g.height + iy) * g.width + ix) * c, count: c)
                    } else {
                        destination.update(repeating: 0, count: c)
                    }
                    destination += c
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
