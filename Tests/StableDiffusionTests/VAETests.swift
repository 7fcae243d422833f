import Foundation
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The VAE decoder against diffusers' `AutoencoderKL.decode` (fixtures: `make_pipeline_fixtures.py`).
final class VAETests: XCTestCase {
    /// SD 1 style (three levels, current attention names) and SD 2 style (two levels of three ResNets, attention
    /// weights under the pre-0.14 names `query`/`key`/`value`/`proj_attn`), a batch of 2.
    func testDecodeMatchesDiffusers() throws {
        for style in PipelineFixtures.styles {
            let vae = try AutoencoderKL.load(from: PipelineFixtures.folder(style).appendingPathComponent("vae"))
            let reference = try PipelineFixtures.tensors(style)
            let latents = try reference.tensor("vae.latents").permutedNCHWToNHWC()
            let expected = try reference.tensor("vae.decoded").permutedNCHWToNHWC()
            for implementation in AttentionImplementation.allCases {
                vae.attentionImplementation = implementation
                assertMatchesReference(try vae.decode(latents), expected, relative: 1e-5, absolute: 1e-4,
                                       "\(style) \(implementation)")
            }
        }
    }

    func testScalingFactorAndScaleFactorFromConfig() throws {
        let sd1 = try VAEConfig.load(from: PipelineFixtures.folder("sd1").appendingPathComponent("vae/config.json"))
        let sd2 = try VAEConfig.load(from: PipelineFixtures.folder("sd2").appendingPathComponent("vae/config.json"))
        XCTAssertEqual(sd1.scalingFactor, 0.18215)
        XCTAssertEqual(sd2.scalingFactor, 0.13025)
        XCTAssertEqual(sd1.scaleFactor, 4)
        XCTAssertEqual(sd2.scaleFactor, 2)
        XCTAssertEqual(VAEConfig.stableDiffusion.scaleFactor, 8)
    }

    func testConfigErrorsNameTheKey() throws {
        func decode(_ json: String) throws -> VAEConfig { try VAEConfig.decode(Data(json.utf8), path: "vae/config.json") }
        XCTAssertThrowsError(try decode(#"{"block_out_channels": [8, 16], "up_block_types": ["UpDecoderBlock2D"]}"#)) {
            XCTAssertTrue("\($0)".contains("'up_block_types'"), "\($0)")
        }
        XCTAssertThrowsError(try decode(#"{"_class_name": "AutoencoderTiny"}"#)) { XCTAssertTrue("\($0)".contains("'_class_name'")) }
        XCTAssertThrowsError(try decode(#"{"scaling_factor": 0}"#)) { XCTAssertTrue("\($0)".contains("'scaling_factor'")) }
        XCTAssertThrowsError(try decode(#"{"block_out_channels": [8, 12], "norm_num_groups": 8}"#)) {
            XCTAssertTrue("\($0)".contains("'norm_num_groups'"))
        }
        XCTAssertThrowsError(try decode(#"{"act_fn": "gelu"}"#)) { XCTAssertTrue("\($0)".contains("'act_fn'")) }
        XCTAssertThrowsError(try decode(#"{"latent_chanels": 4}"#)) {
            XCTAssertEqual($0 as? ConfigError, .unknownKey(path: "vae/config.json", key: "latent_chanels"))
        }
    }

    func testRejectsLatentsOfTheWrongShape() throws {
        var config = VAEConfig()
        config.blockOutChannels = [8, 8]
        config.normNumGroups = 4
        let vae = try AutoencoderKL(config: config, seed: 1)
        XCTAssertEqual(try vae.decode(Tensor(zeros: [1, 3, 5, 4])).shape, [1, 6, 10, 3])
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [1, 4, 3, 3]))) { XCTAssertTrue("\($0)".contains("expected latents [B, h, w, 4]")) }
        XCTAssertThrowsError(try vae.decode(Tensor(zeros: [4, 3, 3]))) { XCTAssertTrue($0 is TensorError) }
    }

    /// Weights for another architecture are listed by name, the encoder's as well as the decoder's.
    func testWeightMismatchListsTensors() throws {
        let copy = try PipelineFixtures.copy("sd1", for: self).appendingPathComponent("vae")
        var config = try String(contentsOf: copy.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"mid_block_add_attention\": true", with: "\"mid_block_add_attention\": false")
        try config.write(to: copy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AutoencoderKL.load(from: copy)) { error in
            guard case WeightError.mismatch(_, let missing, let unexpected, _, _)? = error as? WeightError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(missing, [])
            XCTAssertTrue(unexpected.contains("decoder.mid_block.attentions.0.to_q.weight"), "\(unexpected)")
            XCTAssertTrue(unexpected.contains("encoder.mid_block.attentions.0.to_q.weight"), "\(unexpected)")
        }
    }
}
