import DiffusionPatch
import StableDiffusion
import TestSupport
import UNetBenchmarking
import XCTest

/// The FLOP model against figures computed independently: tomesd's SD 1.5 speed-up predictions and a hand count of
/// the tiny fixture UNet, and torch's FLOP counter on diffusers' SD 1.5 UNet.
final class UNetFLOPModelTests: XCTestCase {
    func testSD15PredictionsAreTomesds() throws {
        let model = UNetFLOPModel(config: .stableDiffusion15)
        let tome = try ToMeOptions(ratio: 0.5)
        func speedUp(_ latent: Int, _ batch: Int, _ options: ToMeOptions) -> Double {
            model.flops(latentHeight: latent, latentWidth: latent, batch: batch)
                / model.flops(latentHeight: latent, latentWidth: latent, batch: batch, options: options)
        }
        XCTAssertEqual(speedUp(64, 2, tome), 1.124, accuracy: 0.001)
        XCTAssertEqual(speedUp(128, 1, tome), 1.394, accuracy: 0.001)
        XCTAssertEqual(speedUp(128, 1, try ToMeOptions(ratio: 0.5, maxDownsample: 2)), 1.480, accuracy: 0.001)
        XCTAssertEqual(speedUp(128, 1, try ToMeOptions(ratio: 0.75)), 1.551, accuracy: 0.001)
        // torch.utils.flop_counter.FlopCounterMode on diffusers 0.42.1's SD 1.5 UNet: 1606.55 GFLOP at 512² batch 2,
        // 4674.01 at 1024² batch 1 (the difference is the timestep embedding, which the model leaves out).
        XCTAssertEqual(model.flops(latentHeight: 64, latentWidth: 64, batch: 2) / 1e9, 1606.55, accuracy: 0.5)
        XCTAssertEqual(model.flops(latentHeight: 128, latentWidth: 128, batch: 1) / 1e9, 4674.01, accuracy: 0.5)
        XCTAssertEqual(speedUp(64, 2, try ToMeOptions(ratio: 0.5, mergeAttention: false)), 1)
    }

    /// SDXL base's UNet: torch's FLOP counter on diffusers 0.42.1's (built on the meta device), and what ToMe can
    /// give there — nothing at tomesd's default maxDownsample 1, whose level has no attention.
    func testSDXLCountsAndPredictions() throws {
        let config = UNetBenchmarkArchitecture.sdxl.config
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(config.attentionDownsampleFactors, [2, 4])
        let model = UNetFLOPModel(config: config)
        // FlopCounterMode, 1 × 4 × 64² and 128² latents, 77 × 2048 context: 1588.78 and 6761.24 GFLOP.
        XCTAssertEqual(model.flops(latentHeight: 64, latentWidth: 64, batch: 1) / 1e9, 1588.78, accuracy: 0.5)
        XCTAssertEqual(model.flops(latentHeight: 128, latentWidth: 128, batch: 1) / 1e9, 6761.24, accuracy: 0.5)
        func speedUp(_ maxDownsample: Int) throws -> Double {
            model.flops(latentHeight: 128, latentWidth: 128, batch: 1)
                / model.flops(latentHeight: 128, latentWidth: 128, batch: 1,
                              options: try ToMeOptions(ratio: 0.5, maxDownsample: maxDownsample))
        }
        XCTAssertEqual(try speedUp(1), 1)
        XCTAssertGreaterThan(try speedUp(2), 1.05)
        XCTAssertGreaterThan(try speedUp(4), try speedUp(2))
        print(String(format: "SDXL 1024² batch 1 FLOP-model ToMe 0.5 speed-ups: maxDownsample 2 ×%.3f, 4 ×%.3f",
                     try speedUp(2), try speedUp(4)))
    }

    func testTinyUNetHandCount() throws {
        // The SD1 fixture UNet: channels (8, 16, 16), one ResNet per down block, heads irrelevant, context 12.
        let model = UNetFLOPModel(config: try UNetConfig.load(from: Fixtures.url("unet-sd1/config.json")))
        // 2×2 latent: levels of 4, 1 and 1 tokens; L = 1 context token.
        func resnet(_ n: Double, _ i: Double, _ o: Double) -> Double { 9 * n * (i * o + o * o) + (i != o ? n * i * o : 0) }
        func transformer(_ n: Double, _ c: Double) -> Double {
            2 * n * c * c + 4 * n * c * c + 2 * n * n * c + 2 * n * c * c + 2 * 1 * 12 * c + 2 * n * 1 * c + 12 * n * c * c
        }
        var macs = 9 * 4 * 4 * 8.0                                                    // conv_in
        macs += resnet(4, 8, 8) + transformer(4, 8) + 9 * 1 * 8 * 8                   // down 0 + downsampler
        macs += resnet(1, 8, 16) + transformer(1, 16) + 9 * 1 * 16 * 16               // down 1 + downsampler
        macs += resnet(1, 16, 16)                                                     // down 2
        macs += 2 * resnet(1, 16, 16) + transformer(1, 16)                            // mid
        macs += resnet(1, 32, 16) + resnet(1, 32, 16) + 9 * 1 * 16 * 16               // up 0 (skips 16, 16) + upsampler
        macs += resnet(1, 32, 16) + resnet(1, 24, 16) + 2 * transformer(1, 16)        // up 1 (skips 16, 8)
        macs += 9 * 4 * 16 * 16                                                       //   its upsampler
        macs += resnet(4, 24, 8) + resnet(4, 16, 8) + 2 * transformer(4, 8)           // up 2 (skips 8, 8)
        macs += 9 * 4 * 8 * 4                                                         // conv_out
        XCTAssertEqual(model.flops(latentHeight: 2, latentWidth: 2, batch: 3, contextTokens: 1), 2 * 3 * macs)
    }

    func testToDoShrinksOnlyTheKeysAndValuesOfSelfAttention() throws {
        // The SD1 fixture UNet on a 4 × 4 latent: its three level-1 transformer blocks (down 0, up 2 twice) have
        // n = 16 tokens of c = 8 channels; ToDo ×2 projects keys and values from kv = 4 of them. Per block,
        // attn1 costs 4·n·c² + 2·n²·c unpatched and 2·n·c² + 2·kv·c² + 2·n·kv·c with ToDo.
        let model = UNetFLOPModel(config: try UNetConfig.load(from: Fixtures.url("unet-sd1/config.json")))
        let (n, kv, c) = (16.0, 4.0, 8.0)
        let saved = 3 * ((4 * n * c * c + 2 * n * n * c) - (2 * n * c * c + 2 * kv * c * c + 2 * n * kv * c))
        let vanilla = model.flops(latentHeight: 4, latentWidth: 4, batch: 2, contextTokens: 3)
        let todo = model.flops(latentHeight: 4, latentWidth: 4, batch: 2, contextTokens: 3,
                               downsampling: try ToDoOptions(factor: 2))
        XCTAssertEqual(vanilla - todo, 2 * 2 * saved)
        XCTAssertEqual(model.flops(latentHeight: 4, latentWidth: 4, batch: 2, contextTokens: 3,
                                   downsampling: try ToDoOptions(factor: 1)), vanilla)
        // ToMe and ToDo together save more than either alone.
        let tome = try ToMeOptions(ratio: 0.5)
        let both = model.flops(latentHeight: 4, latentWidth: 4, batch: 2, contextTokens: 3, options: tome,
                               downsampling: try ToDoOptions(factor: 2))
        XCTAssertLessThan(both, min(todo, model.flops(latentHeight: 4, latentWidth: 4, batch: 2, contextTokens: 3,
                                                       options: tome)))
    }
}
