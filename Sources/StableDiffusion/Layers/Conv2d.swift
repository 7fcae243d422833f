import CKernels
import TensorCore

/// A 2-D convolution on NHWC feature maps, as PyTorch's `nn.Conv2d` (weight `[out, in, kh, kw]` in the file).
///
/// At load the weight is transposed (and reordered or transformed where the method needs it) and packed
/// (``PackedMatrix``) as the right operand of GEMMs, in one of four forms (``Method``): a 1×1 convolution is one GEMM
/// on the feature map itself; a 3×3 stride-1 "same" convolution of enough input channels runs by Winograd's
/// F(2×2, 3×3) (16 GEMMs on transformed 4×4 patches: 16 products per 2×2 output pixels where the
/// direct sum makes 36), unless built without it for small maps; other stride-1 "same" convolutions of enough input
/// channels are a sum of k² GEMMs over shifted views of the input (no patch matrix), unless built without Winograd
/// (small maps, where those views' padding columns would cost too much); anything else gathers patches (im2col) tile
/// by tile. A 3×3
/// convolution of a ×2 nearest-upsampled map (``Upsample2D``) runs as four 2×2 convolutions of the small map
/// (``convolveUpsampled(_:)``), by Winograd's F(2×2, 2×2) or shifted taps. The weight is packed in the scope's
/// ``ParameterScope/precision`` (fp32 or bfloat16); the bias (fp32) is added by the GEMM epilogue or as the output
/// is written.
package final class Conv2d {
    /// Zero padding on each side, in pixels.
    package struct Padding: Equatable, Sendable {
        /// Rows added above.
        package var top: Int
        /// Columns added on the left.
        package var left: Int
        /// Rows added below.
        package var bottom: Int
        /// Columns added on the right.
        package var right: Int

        /// The same padding `amount` on every side.
        package static func uniform(_ amount: Int) -> Padding { Padding(top: amount, left: amount, bottom: amount, right: amount) }

        /// Padding with each side given.
        package init(top: Int, left: Int, bottom: Int, right: Int) {
            self.top = top
            self.left = left
            self.bottom = bottom
            self.right = right
        }
    }

    /// The module path, for error messages.
    package let name: String
    /// Input channels.
    package let inChannels: Int
    /// Output channels.
    package let outChannels: Int
    /// Kernel height and width.
    package let kernelSize: Int
    /// Step between output pixels, in input pixels.
    package let stride: Int
    /// Zero padding around the input.
    package let padding: Padding
    /// How the convolution is computed, with the weight packed for it.
    let method: Method
    /// The four phases of ``convolveUpsampled(_:)`` (made when the layer is built with `followsUpsampling`), else nil.
    let upsampled: UpsampledMethod?
    /// `[outChannels]`.
    let bias: Tensor

    /// A convolution whose parameters are `weight` and `bias` in `scope`. With `followsUpsampling` (a 3×3,
    /// stride-1, padding-1 convolution that runs on ×2 nearest-upsampled maps, as in ``Upsample2D``) it also packs
    /// the weights of ``convolveUpsampled(_:)`` (by Winograd where `winograd`), and keeps shifted taps (not
    /// Winograd) for the plain path, which then runs only for odd target sizes. With `winograd` false (maps too small
    /// for Winograd to pay) a 3×3 convolution runs by im2col: shifted taps would also compute the padding columns
    /// between rows (78 rows of products for an 8×8 map's 64 pixels).
    package init(_ scope: ParameterScope, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Padding = .uniform(0), followsUpsampling: Bool = false, winograd: Bool = true) {
        name = scope.path
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        let fanIn = inChannels * kernelSize * kernelSize
        let fusesUpsampling = followsUpsampling && kernelSize == 3 && stride == 1 && padding == .uniform(1)
            && inChannels >= Method.minimumShiftedTapChannels
        (method, upsampled) = scope.withParameter("weight", shape: [outChannels, inChannels, kernelSize, kernelSize],
                                                  role: .weight(fanIn: fanIn)) { stored in
            let method = Method(stored.baseAddress!, inChannels: inChannels, outChannels: outChannels,
                                kernelSize: kernelSize, stride: stride, padding: padding, precision: scope.precision,
                                workspace: scope.workspace, allowsWinograd: winograd && !followsUpsampling,
                                allowsShiftedTaps: winograd || followsUpsampling)
            let phases = fusesUpsampling ? Conv2d.upsampledMethod(stored.baseAddress!, inChannels: inChannels,
                                                                  outChannels: outChannels, winograd: winograd,
                                                                  precision: scope.precision, workspace: scope.workspace) : nil
            return (method, phases)
        }
        bias = scope.parameter("bias", shape: [outChannels], role: .bias(fanIn: fanIn))
    }

    /// The output height and width for an input of `height` × `width`.
    package func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + padding.top + padding.bottom - kernelSize) / stride + 1,
         (width + padding.left + padding.right - kernelSize) / stride + 1)
    }

    /// Convolves `x` `[B, H, W, inChannels]` into `[B, H', W', outChannels]`.
    /// - Throws: ``TensorError/shapeMismatch(_:)`` naming the layer for a wrong rank or channel count, or an input
    ///   smaller than the kernel.
    package func callAsFunction(_ x: Tensor) throws -> Tensor {
        try convolve(x, normalization: nil)
    }

    /// `self(norm(x, silu: silu)) + addends`: when the convolution runs by shifted taps or Winograd, the
    /// normalisation is applied while each tile's (or block's) padded window is copied from the input, and no
    /// normalised map is stored (one pass over the input and one feature map of memory fewer); Winograd also adds
    /// the `addends` as it writes its output (other methods add them afterwards, with the same roundings).
    /// - Throws: as ``GroupNorm/callAsFunction(_:silu:)`` and ``callAsFunction(_:)``, or
    ///   ``TensorError/shapeMismatch(_:)`` for addends of the wrong shape.
    package func callAsFunction(_ x: Tensor, normalizedBy norm: GroupNorm, silu: Bool,
                                adding addends: Addends = Addends()) throws -> Tensor {
        switch method {
        case .shiftedTaps, .winograd:
            return try convolve(x, normalization: try norm.affine(x, silu: silu), addends: addends)
        case .pointwise, .patches:
            return try convolve(try norm(x, silu: silu), normalization: nil, addends: addends)
        }
    }

    /// What a convolution adds to its output after the bias, in this order: a bias per image (`[B, out]`, a
    /// ResNet's time embedding), then a residual of the output's shape (a ResNet's skip connection).
    package struct Addends {
        var imageBias: Tensor?
        var residual: Tensor?

        package init(imageBias: Tensor? = nil, residual: Tensor? = nil) {
            self.imageBias = imageBias
            self.residual = residual
        }

        /// Checks the addends against an output of `shape` (`[B, H, W, C]`).
        func check(outputShape shape: [Int], name: String) throws {
            if let imageBias, imageBias.shape != [shape[0], shape[3]] {
                throw TensorError.shapeMismatch("\(name): a bias per image of shape \(imageBias.shape), expected [\(shape[0]), \(shape[3])]")
            }
            if let residual, residual.shape != shape {
                throw TensorError.shapeMismatch("\(name): a residual of shape \(residual.shape), expected \(shape)")
            }
        }

        /// `y += imageBias` (per image), then `y += residual`: the additions Winograd makes as it writes.
        func add(to y: inout Tensor) throws {
            if let imageBias { try y += try imageBias.reshaped([imageBias.shape[0], 1, 1, imageBias.shape[1]]) }
            if let residual { try y += residual }
        }
    }

    /// `output += self(x)`: a 1×1 convolution (a ResNet's `conv_shortcut`) adds its products straight into `output`
    /// (one GEMM onto it) without a tensor of its own; other convolutions convolve, then add.
    /// - Throws: as ``callAsFunction(_:)``, or ``TensorError/shapeMismatch(_:)`` when `output` is not the shape of
    ///   the convolution's output.
    package func add(_ x: Tensor, to output: inout Tensor) throws {
        guard case .pointwise(let weight) = method, x.rank == 4, x.shape[3] == inChannels else {
            return try output += try self(x)
        }
        guard output.shape == Array(x.shape.dropLast()) + [outChannels] else {
            throw TensorError.shapeMismatch(
                "\(name): cannot add a \(x.shape.dropLast() + [outChannels]) output to \(output.shape)")
        }
        x.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { sums in
                bias.withUnsafeBufferPointer { b in
                    GEMM.sgemm(m: x.count / inChannels, a: input.baseAddress!, lda: inChannels, b: weight, beta: 1,
                               c: sums.baseAddress!, ldc: outChannels, bias: b.baseAddress!)
                }
            }
        }
    }

    /// Convolves `x`, normalised first when `normalization` is given (shifted taps and Winograd only).
    private func convolve(_ x: Tensor, normalization: GroupNorm.Affine?, addends: Addends = Addends()) throws -> Tensor {
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
        try addends.check(outputShape: y.shape, name: name)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
                bias.withUnsafeBufferPointer { b in
                    let geometry = Geometry(batch: batch, height: height, width: width, outHeight: out.height, outWidth: out.width)
                    switch method {
                    case .pointwise(let weight):
                        GEMM.sgemm(m: batch * height * width, a: input.baseAddress!, lda: inChannels, b: weight,
                                   c: output.baseAddress!, ldc: outChannels, bias: b.baseAddress!)
                    case .patches(let weight):
                        convolveByPatches(input.baseAddress!, geometry, weight: weight, output.baseAddress!, bias: b.baseAddress!)
                    case .shiftedTaps(let phase):
                        convolveByShiftedTaps(input.baseAddress!, geometry, phases: [phase], output.baseAddress!,
                                              bias: b.baseAddress!, normalization: normalization)
                    case .winograd(let phase):
                        withExtendedLifetime(addends) {
                            convolveByWinograd(input.baseAddress!, geometry, phases: [phase], output.baseAddress!,
                                               bias: b.baseAddress!, imageBias: addends.imageBias?.storage.pointer,
                                               residual: addends.residual?.storage.pointer, normalization: normalization)
                        }
                    }
                }
            }
        }
        if case .winograd = method { return y }  // it added them as it wrote
        try addends.add(to: &y)
        return y
    }

    /// The sizes of one call (input and output height and width).
    struct Geometry {
        let batch: Int, height: Int, width: Int, outHeight: Int, outWidth: Int
        var outputPixels: Int { batch * outHeight * outWidth }
    }

    /// The four ways a convolution is computed, each holding the weight packed for it.
    enum Method {
        /// 1×1, stride 1, no padding: one GEMM with the `[in × out]` weight.
        case pointwise(PackedMatrix)
        /// im2col: GEMMs of gathered patches with the `[k²·in × out]` weight.
        case patches(PackedMatrix)
        /// Stride 1, padding k/2 on every side: one phase of k² taps (ky, kx), each with its `[in × out]` weight.
        case shiftedTaps(TapPhase)
        /// 3×3, stride 1, padding 1: Winograd F(2×2, 3×3), one phase of 16 component weights `[in × out]`
        /// (``convolveByWinograd(_:_:phases:_:bias:imageBias:residual:normalization:)``).
        case winograd(WinogradPhase)

        /// Input channels from which shifted taps and Winograd beat im2col (below, each GEMM is too shallow).
        static let minimumShiftedTapChannels = 32

        /// The method for a convolution, packing its PyTorch weight `[out, in, k, k]` at `stored` for it. Every
        /// form packs the transpose of an `[out × …]` matrix: the stored weight itself for 1×1, Winograd's
        /// components for a 3×3 "same" convolution of at least ``minimumShiftedTapChannels`` inputs (unless not
        /// `allowsWinograd`), else the `[out, k, k, in]` reordering, made in `workspace`, as shifted taps (unless
        /// not `allowsShiftedTaps`) or im2col.
        init(_ stored: UnsafePointer<Float>, inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int,
             padding: Padding, precision: Precision, workspace: ConversionWorkspace, allowsWinograd: Bool,
             allowsShiftedTaps: Bool) {
            let taps = kernelSize * kernelSize
            if allowsWinograd && kernelSize == 3 && stride == 1 && padding == .uniform(1)
                && inChannels >= Method.minimumShiftedTapChannels {
                self = .winograd(Conv2d.winogradWeights(stored, inChannels: inChannels, outChannels: outChannels,
                                                        precision: precision, workspace: workspace))
                return
            }
            if kernelSize == 1 && stride == 1 && padding == .uniform(0) {
                self = .pointwise(PackedMatrix(k: inChannels, n: outChannels, b: stored, ldb: inChannels, transposed: true,
                                               precision: precision))
                return
            }
            let block = taps * inChannels
            self = workspace.withBuffer(count: outChannels * block) { patchMajor in
                Conv2d.reorderToPatchMajor(stored, into: patchMajor, outChannels: outChannels, inChannels: inChannels,
                                           taps: taps)
                if allowsShiftedTaps && stride == 1 && padding == .uniform(kernelSize / 2)
                    && inChannels >= Method.minimumShiftedTapChannels {
                    // Tap t's [in × out] weight: columns t·in ..< (t+1)·in of the [out × k²·in] matrix, transposed.
                    return .shiftedTaps(TapPhase(row: 0, column: 0, taps: (0..<taps).map {
                        (dy: $0 / kernelSize, dx: $0 % kernelSize,
                         weight: PackedMatrix(k: inChannels, n: outChannels, b: patchMajor + $0 * inChannels, ldb: block,
                                              transposed: true, precision: precision))
                    }))
                }
                // [k²·in × out], rows in (tap, channel) order, as the gathered patches.
                return .patches(PackedMatrix(k: block, n: outChannels, b: patchMajor, ldb: block, transposed: true,
                                             precision: precision))
            }
        }
    }

    /// `[out, in, k, k]` → `[out, k, k, in]` (`taps` = k²): per output channel, the `[in × k²]` block transposed.
    private static func reorderToPatchMajor(_ stored: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                                            outChannels: Int, inChannels: Int, taps: Int) {
        let block = taps * inChannels
        ThreadPool.shared.parallelRanges(outChannels, grain: max(1, 65536 / max(block, 1))) { channels in
            for o in channels {
                ck_transpose_f32(stored + o * block, taps, destination + o * block, inChannels, inChannels, taps)
            }
        }
    }
}
