import Foundation
import StableDiffusion
import TensorCore
import XCTest

/// The token-reduction seam, proven with a test hook that the fixture script mirrors in Python (see
/// `Scripts/reference/make_unet_fixtures.py`): the block hands the hook its input before `norm1` and the latent
/// size of the call, and applies the returned merges and unmerges where tomesd's patched block does.
final class UNetHookTests: XCTestCase {
    func testHookedOutputsMatchTheMonkeyPatchedReference() throws {
        for folder in ["unet-sd1", "unet-sd2", "unet-sdxl"] {
            let model = try UNet2DConditionModel.load(from: UNetFixtures.url(folder))
            let cases = try UNetFixtures.cases(folder)
            for name in UNetFixtures.caseNames(cases) {
                let testCase = try UNetCase(cases, name, output: "hooked.out")
                let hook = StridedTokenHook()
                model.removeTokenReductionHooks { _ in true }
                model.appendTokenReductionHook(hook)
                assertMatchesReference(try testCase.run(model), testCase.expected, "\(folder) \(name) hooked")
                assertMatchesReference(try XCTUnwrap(hook.firstInput), try cases.tensor("\(name).hooked.first_input"),
                                       "\(folder) \(name): the first block's input as the hook saw it")
                let latent = TokenReductionContext(latentHeight: testCase.sample.shape[1], latentWidth: testCase.sample.shape[2],
                                                   timestep: testCase.timesteps.first)
                XCTAssertEqual(Set(hook.contexts), [latent], "\(folder) \(name): latent size and timestep handed to the hook")
                XCTAssertEqual(hook.contexts.count, model.transformerBlocks.count, "\(folder) \(name): one plan per block call")
            }
        }
    }

    func testRemovingTheHookRestoresTheUnhookedOutputExactly() throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sd1"))
        let testCase = try UNetCase(try UNetFixtures.cases("unet-sd1"), "square")
        let before = try testCase.run(model)
        model.appendTokenReductionHook(StridedTokenHook())
        XCTAssertNotEqual(try testCase.run(model), before)
        model.removeTokenReductionHooks { $0 is StridedTokenHook }
        XCTAssertEqual(try testCase.run(model), before)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { $0.tokenReductionHooks.isEmpty })
    }

    func testTransformerBlocksListsEveryBlockOfTheWeightFile() throws {
        for folder in ["unet-sd1", "unet-sd2", "unet-sdxl"] {
            let model = try UNet2DConditionModel.load(from: UNetFixtures.url(folder))
            let weights = try SafeTensorsFile(contentsOf: UNetFixtures.url(folder).appendingPathComponent("diffusion_pytorch_model.safetensors"))
            let blockPaths = Set(weights.tensorNames.compactMap { name -> String? in
                guard let range = name.range(of: #"^.*\.transformer_blocks\.\d+"#, options: .regularExpression) else { return nil }
                return String(name[range])
            })
            XCTAssertEqual(Set(model.transformerBlocks.map(\.name)), blockPaths, folder)
            XCTAssertEqual(model.transformerBlocks.count, blockPaths.count, folder)
        }
    }

    func testAReducerThatChangesTheTokenCountIsReported() throws {
        final class BrokenHook: TokenReductionHook {
            func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan {
                TokenReductionPlan(feedForward: KeepEveryNthToken(stride: 2, tokens: hiddenStates.shape[1] - 1))
            }
        }
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sd1"))
        model.appendTokenReductionHook(BrokenHook())
        let testCase = try UNetCase(try UNetFixtures.cases("unet-sd1"), "square")
        XCTAssertThrowsError(try testCase.run(model)) { error in
            XCTAssertTrue("\(error)".contains("token reduction returned"), "\(error)")
        }
    }
}

/// The test hook: with `downsample = ceil(sqrt(H·W // N))` as tomesd computes it, keeps every 2nd token around
/// self-attention, every 3rd around cross-attention and every 2nd around the feed-forward when downsample is 1;
/// every 2nd around self-attention only when it is 2; nothing otherwise. Records what it was handed.
final class StridedTokenHook: TokenReductionHook {
    private(set) var firstInput: Tensor?
    private(set) var contexts: [TokenReductionContext] = []

    func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan {
        if firstInput == nil { firstInput = hiddenStates }
        contexts.append(context)
        let tokens = hiddenStates.shape[1]
        let downsample = Int(Double(context.latentHeight * context.latentWidth / tokens).squareRoot().rounded(.up))
        switch downsample {
        case 1:
            return TokenReductionPlan(selfAttention: KeepEveryNthToken(stride: 2, tokens: tokens),
                                      crossAttention: KeepEveryNthToken(stride: 3, tokens: tokens),
                                      feedForward: KeepEveryNthToken(stride: 2, tokens: tokens))
        case 2:
            return TokenReductionPlan(selfAttention: KeepEveryNthToken(stride: 2, tokens: tokens))
        default:
            return .unchanged
        }
    }
}

/// Merges `[B, N, C]` to every `stride`-th token; unmerges by giving each of the `tokens` original tokens the value
/// of the kept token at or before it (`y[:, i // stride]`).
struct KeepEveryNthToken: TokenReducer {
    let stride: Int
    let tokens: Int

    func merge(_ x: Tensor) throws -> Tensor {
        try gather(x, rows: Array(Swift.stride(from: 0, to: x.shape[1], by: stride)))
    }

    func unmerge(_ y: Tensor) throws -> Tensor {
        try gather(y, rows: (0..<tokens).map { $0 / stride })
    }

    private func gather(_ x: Tensor, rows: [Int]) throws -> Tensor {
        let (batch, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let source = x.scalars
        var values: [Float] = []
        values.reserveCapacity(batch * rows.count * c)
        for b in 0..<batch {
            for row in rows { values += source[(b * n + row) * c ..< (b * n + row + 1) * c] }
        }
        return try Tensor(shape: [batch, rows.count, c], scalars: values)
    }
}
