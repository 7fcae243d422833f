import CKernels
@testable import StableDiffusion
import TensorCore
import XCTest

/// Single layers and kernels against torch (`Tests/Fixtures/sd/unet-layers/layers.safetensors`).
final class LayerReferenceTests: XCTestCase {
    private var file: SafeTensorsFile!
    private var root: ParameterScope!

    override func setUpWithError() throws {
        file = try SafeTensorsFile(contentsOf: UNetFixtures.url("unet-layers/layers.safetensors"))
        root = ParameterScope(SafeTensorsParameterSource(file: file))
    }

    func testConvolutionWithStrideOneAndTwo() throws {
        let x = try file.tensor("conv.x").permutedNCHWToNHWC()
        let same = Conv2d(root("conv"), inChannels: 5, outChannels: 3, kernelSize: 3, padding: .uniform(1))
        assertMatchesReference(try same(x), try file.tensor("conv.stride1").permutedNCHWToNHWC(), relative: 1e-6,
                               absolute: 1e-5, "3×3 conv, stride 1")
        let strided = Conv2d(root("conv"), inChannels: 5, outChannels: 3, kernelSize: 3, stride: 2, padding: .uniform(1))
        assertMatchesReference(try strided(x), try file.tensor("conv.stride2").permutedNCHWToNHWC(), relative: 1e-6,
                               absolute: 1e-5, "3×3 conv, stride 2, odd input")
    }

    /// The wide layer with shifted taps: built to follow an upsampling without Winograd, as Upsample2D's on small
    /// maps, whose plain path (for odd target sizes) keeps them.
    private func shiftedTapConvolution() -> Conv2d {
        let conv = Conv2d(root("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                          followsUpsampling: true, winograd: false)
        guard case .shiftedTaps = conv.method else {
            XCTFail("40 input channels after an upsampling, without Winograd, should take the shifted-tap path")
            return conv
        }
        return conv
    }

    /// With Winograd turned off (maps too small for it to pay, such as SD's 8×8 level), a 3×3 convolution runs by
    /// im2col, against torch; on one image and on two.
    func testConvolutionWithoutWinogradByPatches() throws {
        let conv = Conv2d(root("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                          winograd: false)
        guard case .patches = conv.method else { return XCTFail("a 3×3 convolution without Winograd should use im2col") }
        let before = ThreadPool.shared.threadCount
        defer { try? ThreadPool.setSharedThreadCount(before) }
        for threads in [1, 2, 3] {  // one tile, or tiles split evenly between the threads
            try ThreadPool.setSharedThreadCount(threads)
            for name in ["one", "two"] {
                assertMatchesReference(try conv(try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC()),
                                       try file.tensor("conv.wide.\(name).out").permutedNCHWToNHWC(), relative: 1e-6,
                                       absolute: 1e-5, "im2col conv, \(threads) threads, \(name)")
            }
        }
    }

    func testConvolutionByShiftedTaps() throws {
        let conv = shiftedTapConvolution()
        for name in ["one", "two"] {
            assertMatchesReference(try conv(try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC()),
                                   try file.tensor("conv.wide.\(name).out").permutedNCHWToNHWC(), relative: 1e-6, absolute: 1e-5,
                                   "shifted-tap conv, \(name)")
        }
    }

    /// Winograd F(2×2, 3×3) against torch on odd sizes (12×9: a last column of half tiles; two 5×4 images: a last
    /// row of half tiles), as one block per image and cut into blocks of at most 1, 5 and 13 tiles (blocks that
    /// end mid-row and mid-column, spread over 1 to 3 threads).
    func testConvolutionByWinograd() throws {
        let conv = Conv2d(root("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1))
        guard case .winograd = conv.method else { return XCTFail("a 3×3 convolution of 40 channels should use Winograd") }
        let saved = (Conv2d.winogradBlockFloats, Conv2d.minimumWinogradBlockTiles, ThreadPool.shared.threadCount)
        defer {
            (Conv2d.winogradBlockFloats, Conv2d.minimumWinogradBlockTiles) = (saved.0, saved.1)
            try? ThreadPool.setSharedThreadCount(saved.2)
        }
        let perTile = saved.0 / Conv2d.winogradTilesPerBlock(inChannels: 40, outChannels: 7, weightBytes: 0)
        Conv2d.minimumWinogradBlockTiles = 1
        for (tiles, threads) in [(0, 2), (1, 1), (5, 2), (13, 3)] {
            Conv2d.winogradBlockFloats = tiles == 0 ? saved.0 : tiles * perTile
            try ThreadPool.setSharedThreadCount(threads)
            for name in ["one", "two"] {
                assertMatchesReference(try conv(try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC()),
                                       try file.tensor("conv.wide.\(name).out").permutedNCHWToNHWC(), relative: 1e-6,
                                       absolute: 1e-5, "Winograd, blocks of \(tiles) tiles, \(threads) threads, \(name)")
            }
        }
    }

    /// Runs `body` with the 4-column scalar GEMM kernels (fp32 and bfloat16), then restores the kernels, the
    /// thread count and the Winograd tuning variables the test changes; `body` gets those variables' defaults.
    private func withScalarKernelsAndWinogradSettingsRestored(
        _ body: ((cachedWeightBytes: Int, blockFloats: Int)) throws -> Void) rethrows {
        let saved = (Conv2d.winogradCachedWeightBytes, Conv2d.winogradBlockFloats, Conv2d.minimumWinogradBlockTiles,
                     ThreadPool.shared.threadCount, GEMMKernel.active, BF16GEMMKernel.active)
        defer {
            (Conv2d.winogradCachedWeightBytes, Conv2d.winogradBlockFloats, Conv2d.minimumWinogradBlockTiles) = (saved.0, saved.1, saved.2)
            try? ThreadPool.setSharedThreadCount(saved.3)
            GEMMKernel.setActive(saved.4)
            BF16GEMMKernel.setActive(saved.5)
        }
        GEMMKernel.setActive(GEMMKernel(.scalar)!)
        BF16GEMMKernel.setActive(BF16GEMMKernel(.scalar)!)
        try body((cachedWeightBytes: saved.0, blockFloats: saved.1))
    }

    /// Weights too large to stay in L3 split the output channels between threads (whole panels of the GEMM kernel):
    /// against torch with the 4-column scalar kernels (7 channels: panels of 4 and 3), fp32 and bfloat16, on 2 and
    /// 3 threads (2 channel blocks either way), one block of tiles per image or several.
    func testWinogradSplitsTheChannelsOfLargeWeights() throws {
        try withScalarKernelsAndWinogradSettingsRestored { defaults in
            Conv2d.winogradCachedWeightBytes = 0
            Conv2d.minimumWinogradBlockTiles = 1
            for precision in Precision.allCases {
                let scope = ParameterScope(SafeTensorsParameterSource(file: file), precision: precision)
                let conv = Conv2d(scope("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1))
                guard case .winograd(let phase) = conv.method else { return XCTFail("expected Winograd") }
                XCTAssertEqual(Conv2d.winogradChannelBlocks(outChannels: 7, columnTile: phase.weights[0].columnTile, weightBytes: 1,
                                                            threads: 3), [0 ..< 4, 4 ..< 7])
                for (tiles, threads) in [(0, 2), (5, 3)] {
                    Conv2d.winogradBlockFloats = tiles == 0 ? defaults.blockFloats : tiles * (7 * 40 + 5 * 4)
                    try ThreadPool.setSharedThreadCount(threads)
                    for name in ["one", "two"] {
                        let out = try conv(try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC())
                        let expected = try file.tensor("conv.wide.\(name).out").permutedNCHWToNHWC()
                        if precision == .fp32 {
                            assertMatchesReference(out, expected, relative: 1e-6, absolute: 1e-5,
                                                   "Winograd, channels split, blocks of \(tiles) tiles, \(threads) threads, \(name)")
                        } else {
                            XCTAssertLessThanOrEqual(relativeL2(out, expected), 1e-2, "bf16, \(tiles) tiles, \(name)")
                        }
                    }
                }
            }
        }
    }

    /// In bfloat16, Winograd's transformed patches and weights are rounded instead of the pixels and weights
    /// themselves: its error against torch fp32 stays within twice that of the direct bfloat16 sum (im2col).
    func testWinogradInBFloat16() throws {
        let bf16 = ParameterScope(SafeTensorsParameterSource(file: file), precision: .bf16)
        let winograd = Conv2d(bf16("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1))
        let patches = Conv2d(bf16("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                             winograd: false)
        for name in ["one", "two"] {
            let x = try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC()
            let expected = try file.tensor("conv.wide.\(name).out").permutedNCHWToNHWC()
            let error = relativeL2(try winograd(x), expected), direct = relativeL2(try patches(x), expected)
            XCTAssertGreaterThan(direct, 0, "bfloat16 cannot match fp32 exactly")
            XCTAssertLessThanOrEqual(error, 2 * direct, "\(name): Winograd \(error), direct (im2col) \(direct)")
        }
    }

    /// A ResNet's time-embedding bias and skip connection (``Conv2d/Addends``): Winograd adds them as it writes its
    /// output, shifted taps afterwards; either way the same bits as adding them to the convolution's output one after
    /// the other (as diffusers does); with channels split between threads too. Misshaped addends are rejected.
    func testAddendsGiveTheBitsOfSeparateAdditions() throws {
        let winograd = Conv2d(root("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1))
        let norm = try GroupNorm(root("conv.wide.norm"), groups: 8, channels: 40, eps: 1e-6)
        let saved = (Conv2d.winogradCachedWeightBytes, ThreadPool.shared.threadCount)
        defer {
            Conv2d.winogradCachedWeightBytes = saved.0
            try? ThreadPool.setSharedThreadCount(saved.1)
        }
        try ThreadPool.setSharedThreadCount(2)
        func random(_ shape: [Int]) throws -> Tensor {  // spread values with every low bit set
            try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float(($0 * 7919 + 13) % 1009) / 250.3 - 2 })
        }
        for (conv, cachedBytes) in [(winograd, saved.0), (winograd, 0), (shiftedTapConvolution(), saved.0)] {
            Conv2d.winogradCachedWeightBytes = cachedBytes
            let method: String
            if case .winograd = conv.method { method = "Winograd" } else { method = "shifted taps" }
            for name in ["one", "two"] {
                let x = try file.tensor("conv.wide.\(name).unnormalized").permutedNCHWToNHWC()
                var expected = try conv(x, normalizedBy: norm, silu: true)
                let imageBias = try random([expected.shape[0], 7]), residual = try random(expected.shape)
                let fused = try conv(x, normalizedBy: norm, silu: true,
                                     adding: Conv2d.Addends(imageBias: imageBias, residual: residual))
                try expected += try imageBias.reshaped([expected.shape[0], 1, 1, 7])
                try expected += residual
                XCTAssertEqual(fused.shape, expected.shape)
                XCTAssertEqual(zip(fused.scalars, expected.scalars).filter { $0.bitPattern != $1.bitPattern }.count, 0,
                               "\(method) \(name), weights cached up to \(cachedBytes) bytes")
                XCTAssertThrowsError(try conv(x, normalizedBy: norm, silu: true,
                                              adding: Conv2d.Addends(imageBias: try random([expected.shape[0], 6]))))
                XCTAssertThrowsError(try conv(x, normalizedBy: norm, silu: true,
                                              adding: Conv2d.Addends(residual: try random([1, 2, 2, 7]))))
            }
        }
    }

    /// A ResNet's GroupNorm → SiLU → 3×3 convolution, the norm applied while the convolution copies its input into
    /// each tile's padded window (shifted taps) or each block's window (Winograd), against torch; on one image cut
    /// into tiles mid-row (as two or three threads split it) and on two small images. Without either method (too
    /// few channels) the same call normalises, then convolves.
    func testConvolutionOfTheNormalizedMap() throws {
        let winograd = Conv2d(root("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1))
        let norm = try GroupNorm(root("conv.wide.norm"), groups: 8, channels: 40, eps: 1e-6)
        for conv in [winograd, shiftedTapConvolution()] {
            for name in ["one", "two"] {
                let x = try file.tensor("conv.wide.\(name).unnormalized").permutedNCHWToNHWC()
                let expected = try file.tensor("conv.wide.\(name).normalized").permutedNCHWToNHWC()
                let before = ThreadPool.shared.threadCount
                defer { try? ThreadPool.setSharedThreadCount(before) }
                for threads in [1, 2, 3] {  // one tile per image, or tiles that start mid-row
                    try ThreadPool.setSharedThreadCount(threads)
                    assertMatchesReference(try conv(x, normalizedBy: norm, silu: true), expected, relative: 1e-5,
                                           absolute: 1e-5, "\(conv.method) \(threads) threads, \(name)")
                }
            }
            XCTAssertThrowsError(try conv(try file.tensor("conv.x").permutedNCHWToNHWC(), normalizedBy: norm, silu: true))
        }
    }

    /// diffusers' Upsample2D at ×2 (nearest, then the 3×3 convolution) computed as four 2×2 convolutions of the
    /// small map, by shifted taps and by Winograd's F(2×2, 2×2), against torch; and the plain path of the same
    /// layer on the same inputs.
    func testConvolutionOfTheUpsampledMap() throws {
        for winograd in [false, true] {
            let conv = Conv2d(root("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                              followsUpsampling: true, winograd: winograd)
            switch conv.upsampled {
            case .winograd: XCTAssertTrue(winograd, "Winograd was turned off")
            case .shiftedTaps: XCTAssertFalse(winograd, "40 channels should take Winograd")
            case nil: XCTFail("40 channels should fuse the upsampling")
            }
            for name in ["one", "two"] {
                let x = try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC()
                let expected = try file.tensor("conv.wide.\(name).upsampled").permutedNCHWToNHWC()
                assertMatchesReference(try conv.convolveUpsampled(x), expected, relative: 1e-6, absolute: 1e-5,
                                       "upsampled conv, Winograd \(winograd), \(name)")
                let upsampler = Upsample2D(conv: conv)
                assertMatchesReference(try upsampler(x, size: nil), expected, relative: 1e-6, absolute: 1e-5, "Upsample2D ×2")
                let (height, width) = (x.shape[1], x.shape[2])
                assertMatchesReference(try upsampler(x, size: (2 * height, 2 * width)), expected, relative: 1e-6,
                                       absolute: 1e-5, "Upsample2D to twice the size")
                assertMatchesReference(try conv(Upsample2D.nearest(x, height: 2 * height, width: 2 * width)), expected,
                                       relative: 1e-6, absolute: 1e-5, "the unfused path")
            }
        }
        let narrow = Conv2d(root("conv"), inChannels: 5, outChannels: 3, kernelSize: 3, padding: .uniform(1),
                            followsUpsampling: true)
        XCTAssertNil(narrow.upsampled, "too few channels for shifted taps: Upsample2D upsamples, then convolves")
    }

    /// Maps of one row or column, and one pixel (each tile then half or a quarter outside the map), by Winograd's
    /// four phases against the unfused path (nearest upsampling, then the layer's shifted taps, checked against
    /// torch above), fp32 and bfloat16 (the same products, in a different order and rounding).
    func testUpsampledMapByWinogradOfTinySizes() throws {
        for precision in Precision.allCases {
            let scope = ParameterScope(SafeTensorsParameterSource(file: file), precision: precision)
            let conv = Conv2d(scope("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                              followsUpsampling: true)
            for shape in [[1, 1, 1, 40], [2, 1, 3, 40], [1, 3, 1, 40], [1, 2, 2, 40]] {
                let count = shape.reduce(1, *)
                let x = try Tensor(shape: shape, scalars: (0..<count).map { Float(($0 * 37) % 23) / 11 - 1 })
                let unfused = try conv(Upsample2D.nearest(x, height: 2 * shape[1], width: 2 * shape[2]))
                let label = "\(precision), \(shape)"
                if precision == .fp32 {
                    assertMatchesReference(try conv.convolveUpsampled(x), unfused, relative: 1e-6, absolute: 1e-5, label)
                } else {
                    XCTAssertLessThanOrEqual(relativeL2(try conv.convolveUpsampled(x), unfused), 1e-2, label)
                }
            }
        }
    }

    /// The upsampled map's four Winograd phases cut as the plain convolution's single one is: blocks of 1, 5 and 13
    /// tiles (ending mid-row and mid-column; the odd 12×9 and 5×4 maps have half tiles) on 1 to 3 threads, and with
    /// the output channels split between threads (7 channels: panels of 4 and 3 with the 4-column scalar kernels);
    /// against torch in fp32, and in bfloat16 within twice the error of the bfloat16 shifted taps.
    func testUpsampledMapByWinogradInBlocks() throws {
        try withScalarKernelsAndWinogradSettingsRestored { defaults in
            Conv2d.minimumWinogradBlockTiles = 1
            let perTile = 7 * 40 + 5 * 7
            for precision in Precision.allCases {
                let scope = ParameterScope(SafeTensorsParameterSource(file: file), precision: precision)
                let conv = Conv2d(scope("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                                  followsUpsampling: true)
                let taps = Conv2d(scope("conv.wide"), inChannels: 40, outChannels: 7, kernelSize: 3, padding: .uniform(1),
                                  followsUpsampling: true, winograd: false)
                for (tiles, threads, split) in [(0, 2, false), (1, 1, false), (5, 2, false), (13, 3, false), (0, 2, true), (5, 3, true)] {
                    Conv2d.winogradBlockFloats = tiles == 0 ? defaults.blockFloats : tiles * perTile
                    Conv2d.winogradCachedWeightBytes = split ? 0 : defaults.cachedWeightBytes
                    try ThreadPool.setSharedThreadCount(threads)
                    for name in ["one", "two"] {
                        let x = try file.tensor("conv.wide.\(name).x").permutedNCHWToNHWC()
                        let expected = try file.tensor("conv.wide.\(name).upsampled").permutedNCHWToNHWC()
                        let out = try conv.convolveUpsampled(x)
                        let label = "\(precision), blocks of \(tiles) tiles, \(threads) threads, split \(split), \(name)"
                        if precision == .fp32 {
                            assertMatchesReference(out, expected, relative: 1e-6, absolute: 1e-5, label)
                        } else {
                            let error = relativeL2(out, expected), direct = relativeL2(try taps.convolveUpsampled(x), expected)
                            XCTAssertGreaterThan(direct, 0, "bfloat16 cannot match fp32 exactly")
                            XCTAssertLessThanOrEqual(error, 2 * direct, "\(label): Winograd \(error), shifted taps \(direct)")
                        }
                    }
                }
            }
        }
    }

    func testGroupNorm() throws {
        let norm = try GroupNorm(root("groupnorm"), groups: 4, channels: 8, eps: 1e-5)
        try forEachKernelLevel { level in
            let out = try norm(try file.tensor("groupnorm.x").permutedNCHWToNHWC())
            assertMatchesReference(out, try file.tensor("groupnorm.out").permutedNCHWToNHWC(), relative: 1e-6, absolute: 1e-5,
                                   "GroupNorm, kernel level \(level)")
        }
    }

    /// GroupNorm's statistics over many pixels (several chunks, each several 32-row blocks merged pairwise, and a
    /// partial last block), on values far from zero, against the definition computed in double precision, at every
    /// kernel level.
    func testGroupNormStatisticsOverManyPixels() throws {
        let norm = try GroupNorm(root("groupnorm"), groups: 4, channels: 8, eps: 1e-5)
        let (batch, pixels, channels) = (2, 37 * 29, 8)
        var state: UInt64 = 7
        let values = (0 ..< batch * pixels * channels).map { index -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let unit = Float(state >> 40) / Float(1 << 24) - 0.5  // in [-0.5, 0.5)
            return 40 + Float(index % channels) + 3 * unit          // an offset much larger than the spread
        }
        let x = try Tensor(shape: [batch, 37, 29, channels], scalars: values)
        let weight = try file.tensor("groupnorm.weight").scalars, bias = try file.tensor("groupnorm.bias").scalars
        var expected = [Float](repeating: 0, count: values.count)
        for b in 0..<batch {
            for group in 0..<4 {
                let members = (0..<pixels).flatMap { p in (2 * group ..< 2 * group + 2).map { (b * pixels + p) * channels + $0 } }
                let mean = members.reduce(0.0) { $0 + Double(values[$1]) } / Double(members.count)
                let variance = members.reduce(0.0) { $0 + (Double(values[$1]) - mean) * (Double(values[$1]) - mean) }
                    / Double(members.count)
                for index in members {
                    let c = index % channels
                    expected[index] = Float((Double(values[index]) - mean) / (variance + 1e-5).squareRoot()
                        * Double(weight[c]) + Double(bias[c]))
                }
            }
        }
        try forEachKernelLevel { level in
            assertMatchesReference(try norm(x), try Tensor(shape: x.shape, scalars: expected), relative: 1e-5,
                                   absolute: 1e-4, "GroupNorm over \(pixels) pixels, kernel level \(level)")
        }
    }

    func testGroupNormRejectsChannelsNotDividedByGroups() {
        XCTAssertThrowsError(try GroupNorm(root("groupnorm"), groups: 3, channels: 8, eps: 1e-5)) { error in
            XCTAssertEqual(error as? TensorError, .invalidArgument("groupnorm: 3 groups do not divide 8 channels"))
        }
    }

    func testLayerNorm() throws {
        let norm = LayerNorm(root("layernorm"), dim: 12)
        try forEachKernelLevel { level in
            assertMatchesReference(try norm(try file.tensor("layernorm.x")), try file.tensor("layernorm.out"), relative: 1e-6,
                                   absolute: 1e-5, "LayerNorm, kernel level \(level)")
        }
        XCTAssertThrowsError(try norm(Tensor(zeros: [2, 11])))
    }

    func testBothAttentionImplementationsMatchTorch() throws {
        for (name, heads) in [("cross", 2), ("self", 2), ("d40", 2), ("d80", 1)] {
            let q = try file.tensor("attention.\(name).q"), k = try file.tensor("attention.\(name).k")
            let v = try file.tensor("attention.\(name).v")
            let width = q.shape[2]
            let geometry = ScaledDotProductAttention.Geometry(
                batch: q.shape[0], heads: heads, headDim: width / heads, queries: q.shape[1], keys: k.shape[1],
                queryStride: width, keyStride: width, valueStride: width, outputStride: width)
            try forEachKernelLevel { level in for implementation in AttentionImplementation.allCases {
                var out = Tensor(zeros: q.shape)
                q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                    out.withUnsafeMutableBufferPointer { op in
                        ScaledDotProductAttention.compute(geometry, q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!,
                                                          out: op.baseAddress!, implementation: implementation)
                    }
                } } }
                assertMatchesReference(out, try file.tensor("attention.\(name).out"), relative: 1e-6, absolute: 1e-5,
                                       "\(name) attention, \(implementation), kernel level \(level)")
            } }
        }
        XCTAssertGreaterThan(260, ScaledDotProductAttention.keyTile, "the self case must span several key blocks")
        XCTAssertGreaterThan(260, ScaledDotProductAttention.queryTile, "the self case must span several query tiles")
    }

    /// Memory-efficient attention with bfloat16 products (``Precision/bf16``) on every bfloat16 kernel variant: within
    /// bfloat16 rounding of torch's fp32 output (relative L2 ≤ 1e-2), visibly not fp32 (≥ 1e-5), and the same bits
    /// on every variant.
    func testBF16AttentionMatchesTorchWithinBFloat16Rounding() throws {
        let saved = BF16GEMMKernel.active
        defer { BF16GEMMKernel.setActive(saved) }
        for (name, heads) in [("cross", 2), ("self", 2), ("d40", 2), ("d80", 1)] {
            let q = try file.tensor("attention.\(name).q"), k = try file.tensor("attention.\(name).k")
            let v = try file.tensor("attention.\(name).v")
            let expected = try file.tensor("attention.\(name).out")
            let width = q.shape[2]
            let geometry = ScaledDotProductAttention.Geometry(
                batch: q.shape[0], heads: heads, headDim: width / heads, queries: q.shape[1], keys: k.shape[1],
                queryStride: width, keyStride: width, valueStride: width, outputStride: width)
            var first: [Float]?
            for kernel in BF16GEMMKernel.available {
                BF16GEMMKernel.setActive(kernel)
                var out = Tensor(zeros: q.shape)
                q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                    out.withUnsafeMutableBufferPointer { op in
                        ScaledDotProductAttention.compute(geometry, q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!,
                                                          out: op.baseAddress!, implementation: .memoryEfficient, precision: .bf16)
                    }
                } } }
                let error = relativeL2(out, expected)
                XCTAssertLessThanOrEqual(error, 1e-2, "\(name) attention, bf16 on \(kernel)")
                XCTAssertGreaterThanOrEqual(error, 1e-5, "\(name) attention, bf16 on \(kernel): products not in bfloat16")
                if let first {
                    XCTAssertEqual(zip(out.scalars, first).filter { $0.bitPattern != $1.bitPattern }.count, 0, "\(name) on \(kernel)")
                } else {
                    first = out.scalars
                }
            }
        }
    }

    func testGELU() throws {
        let x = try file.tensor("gelu.x")
        var levels: [Int] = []
        try forEachKernelLevel { level in
            levels.append(level)
            var y = Tensor(zeros: x.shape)
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in ck_nn_gelu(px.baseAddress!, py.baseAddress!, x.count) }
            }
            assertMatchesReference(y, try file.tensor("gelu.out"), relative: 1e-6, absolute: 1e-6, "GELU, kernel level \(level)")
        }
        XCTAssertEqual(levels, Array((0...Int(ck_nn_isa_level())).reversed()), "every level up to the best one runs")
    }

    func testTimestepEmbeddings() throws {
        let t = try file.tensor("timestep.t").scalars
        for dim in [16, 15] {
            for flip in [true, false] {
                for shift in [0, 1] {
                    let embedding = Timesteps(dim: dim, flipSinToCos: flip, frequencyShift: Float(shift))(t)
                    assertMatchesReference(embedding, try file.tensor("timestep.\(dim).\(flip ? 1 : 0).\(shift)"),
                                           relative: 1e-6, absolute: 1e-5, "timesteps dim \(dim) flip \(flip) shift \(shift)")
                }
            }
        }
    }

    func testNearestUpsamplingByTwoAndToASize() throws {
        let x = try file.tensor("upsample.x").permutedNCHWToNHWC()
        XCTAssertEqual(Upsample2D.nearest(x, height: 6, width: 8), try file.tensor("upsample.x2").permutedNCHWToNHWC())
        XCTAssertEqual(Upsample2D.nearest(x, height: 5, width: 7), try file.tensor("upsample.to5x7").permutedNCHWToNHWC())
    }
}
