import Foundation
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// Sizes read from configuration files are bounded before anything is built from them: each over-large field is
/// an error naming the file and the key, and a model whose weights cannot fit in this machine's memory is refused
/// naming the keys that size it. (These configurations once killed the process: an out-of-memory fatal error, an
/// overflowing shape product, or minutes of allocation.)
final class ConfigLimitTests: XCTestCase {
    private func assertRefused(_ expectedKey: String, _ fragment: String, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case let .invalid(path, key, reason)? = error as? ConfigError else { return XCTFail("\(error)", line: line) }
            XCTAssertTrue(path.hasSuffix("config.json"), path, line: line)
            XCTAssertTrue(key.contains(expectedKey), "key \(key) for \(reason)", line: line)
            XCTAssertTrue(reason.contains(fragment), reason, line: line)
        }
    }

    private let unetBase = #""down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "norm_num_groups": 4"#

    private func unet(_ fields: String) throws {
        _ = try UNetConfig.decode(Data("{\(unetBase), \(fields)}".utf8), path: "unet/config.json")
    }

    func testUNetFieldsOverTheirLimits() throws {
        try unet(#""block_out_channels": [8, 16], "cross_attention_dim": 12, "attention_head_dim": 2"#)  // the base is valid
        let big = "900000000000000"  // the largest integers a config may hold: products of two overflow 64 bits
        assertRefused("block_out_channels", "over the limit") { try unet(#""block_out_channels": [8, 1000000000]"#) }
        assertRefused("cross_attention_dim", "over the limit") { try unet(#""block_out_channels": [8, 16], "cross_attention_dim": 100000000000"#) }
        assertRefused("layers_per_block", "over the limit") { try unet(#""block_out_channels": [8, 16], "layers_per_block": 10000000"#) }
        assertRefused("transformer_layers_per_block", "over the limit") {
            try unet(#""block_out_channels": [8, 16], "transformer_layers_per_block": [100000000, 1]"#)
        }
        assertRefused("downsample_padding", "over the limit") { try unet(#""block_out_channels": [8, 16], "downsample_padding": 1000000"#) }
        assertRefused("in_channels", "over the limit") { try unet(#""block_out_channels": [8, 16], "in_channels": 10000000000"#) }
        assertRefused("sample_size", "over the limit") { try unet(#""block_out_channels": [8, 16], "sample_size": 100000000000"#) }
        assertRefused("conv_in_kernel", "over the limit") { try unet(#""block_out_channels": [8, 16], "conv_in_kernel": 100001"#) }
        assertRefused("time_embedding_dim", "over the limit") { try unet(#""block_out_channels": [8, 16], "time_embedding_dim": \#(big)"#) }
        assertRefused("addition_time_embed_dim", "over the limit") {
            try unet(#""block_out_channels": [8, 16], "addition_embed_type": "text_time", "addition_time_embed_dim": \#(big), "projection_class_embeddings_input_dim": 64"#)
        }
        let manyBlocks = Array(repeating: "\"DownBlock2D\"", count: 9).joined(separator: ", ")
        assertRefused("down_block_types", "over the limit of 8") {
            _ = try UNetConfig.decode(Data(#"{"down_block_types": [\#(manyBlocks)], "up_block_types": [\#(manyBlocks.replacingOccurrences(of: "Down", with: "Up"))], "mid_block_type": null, "block_out_channels": [\#(Array(repeating: "8", count: 9).joined(separator: ", "))], "norm_num_groups": 4}"#.utf8), path: "unet/config.json")
        }
    }

    /// Every field within its limit, but together far more weights than any machine holds.
    func testUNetTooLargeForMemory() throws {
        assertRefused("block_out_channels", "more than this machine's") {
            try unet(#""block_out_channels": [65536, 65536], "layers_per_block": 1024, "cross_attention_dim": 65536, "attention_head_dim": 8"#)
        }
        let sd15 = try XCTUnwrap(UNetConfig.stableDiffusion15.minimumParameterCount)
        XCTAssertTrue((400_000_000...860_000_000).contains(sd15), "a lower bound of SD 1.5's 860M parameters: \(sd15)")
    }

    func testTextEncoderAndVAELimits() throws {
        func clip(_ json: String) throws { _ = try CLIPTextConfig.decode(Data(json.utf8), path: "text_encoder/config.json") }
        func vae(_ json: String) throws { _ = try VAEConfig.decode(Data(json.utf8), path: "vae/config.json") }
        assertRefused("vocab_size", "over the limit") { try clip(#"{"vocab_size": 1000000000000}"#) }
        assertRefused("num_hidden_layers", "over the limit") { try clip(#"{"num_hidden_layers": 100000000}"#) }
        assertRefused("max_position_embeddings", "over the limit") { try clip(#"{"max_position_embeddings": 100000000000}"#) }
        assertRefused("vocab_size", "more than this machine's") { try clip(#"{"vocab_size": 16000000, "hidden_size": 65536, "num_attention_heads": 8}"#) }
        XCTAssertEqual(CLIPTextConfig.stableDiffusion15.parameterCount, 123_060_480, "CLIP ViT-L/14's text tower")

        assertRefused("block_out_channels", "over the limit") { try vae(#"{"block_out_channels": [32, 100000000], "norm_num_groups": 32}"#) }
        assertRefused("block_out_channels", "over the limit of 8") { try vae(#"{"block_out_channels": [32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32]}"#) }
        assertRefused("layers_per_block", "over the limit") { try vae(#"{"layers_per_block": 1000000000}"#) }
        assertRefused("block_out_channels", "more than this machine's") {
            try vae(#"{"block_out_channels": [65536, 65536, 65536, 65536], "layers_per_block": 1024}"#)
        }
    }

    func testSchedulerSizes() throws {
        func scheduler(_ json: String) throws { _ = try DDIMScheduler(config: try SchedulerConfig(json: Data(json.utf8)), steps: 10) }
        for json in [#"{"num_train_timesteps": 1000000000000}"#, #"{"steps_offset": 4000000000000000}"#,
                     #"{"steps_offset": -4000000000000000}"#] {
            XCTAssertThrowsError(try scheduler(json), json) { error in
                guard case let .unsupportedOption(name, _, _)? = error as? SchedulerError else { return XCTFail("\(error)") }
                XCTAssertTrue(json.contains(name), "\(error)")
            }
        }
    }

    /// Betas outside (0, 1) once made NaN noise levels that trapped converting them to timesteps (found by
    /// Scripts/fuzz-json.sh scheduler).
    func testBetasOutsideTheUnitIntervalAreRefused() throws {
        for json in [#"{"beta_start": 5.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}"#,
                     #"{"beta_start": -0.5, "beta_end": 0.012, "beta_schedule": "linear"}"#,
                     #"{"num_train_timesteps": 2, "trained_betas": [0.5, 1.5]}"#,
                     #"{"beta_start": 0.0, "beta_end": 0.012, "beta_schedule": "scaled_linear"}"#,
                     // Valid betas, but so many that σ overflows float32 (found by the fuzzer).
                     #"{"num_train_timesteps": 1921, "beta_start": 0.00085, "beta_end": 0.092, "beta_schedule": "linear"}"#] {
            let config = try SchedulerConfig(json: Data(json.utf8))
            for kind in SchedulerKind.allCases {
                XCTAssertThrowsError(try kind.make(config: config, steps: 2), json) { error in
                    guard case let .unsupportedOption(name, value, _)? = error as? SchedulerError else { return XCTFail("\(error)") }
                    XCTAssertTrue(name.contains("beta"), name)
                    XCTAssertTrue(value.contains("alphas_cumprod"), value)
                }
            }
        }
    }

    func testCheckedSizes() {
        XCTAssertEqual(CheckedSize.product([46341, 46340, 4]), 8_589_767_760)
        XCTAssertNil(CheckedSize.product([Int.max, 2]))
        XCTAssertNil(CheckedSize.product([-1, 2]))
        XCTAssertEqual(CheckedSize.sum([1, 2, 3]), 6)
        XCTAssertNil(CheckedSize.sum([Int.max, 1]))
        XCTAssertNil(CheckedSize.sum([1, nil]))
        XCTAssertGreaterThan(CheckedSize.physicalMemoryBytes, 1 << 28)
        XCTAssertEqual(CheckedSize.describe(bytes: 3 << 30), "3.0 GiB")
        XCTAssertNil(UNetConfig.stableDiffusion15.estimatedActivationBytes(batch: 2, height: 1 << 31, width: 1 << 31, attention: .standard))
    }
}
