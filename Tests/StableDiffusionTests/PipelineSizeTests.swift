import Foundation
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// A model folder whose UNet, VAE and text encoder each fit in memory but not together is refused before any
/// weight is read.
final class PipelineSizeTests: XCTestCase {
    func testModelsThatFitAloneButNotTogetherAreRefused() throws {
        let memoryParameters = CheckedSize.physicalMemoryBytes / MemoryLayout<Float>.stride
        // A VAE of one 4096-channel level: (layers + 3) · 18 · 4096² parameters; about 0.6 of memory.
        let vaeUnit = 18 * 4096 * 4096
        let vaeLayers = max(memoryParameters * 6 / 10 / vaeUnit - 3, 0)
        // A text encoder 4096 wide: about 1.0e9 parameters besides its vocab_size × 4096 token table; 0.6 of memory.
        let vocabulary = (memoryParameters * 6 / 10 - 1_100_000_000) / 4096
        guard vocabulary > 0, vocabulary < 1 << 24, vaeLayers < 1024 else {
            throw XCTSkip("this machine's memory (\(CheckedSize.physicalMemoryBytes) bytes) is outside what the test can size")
        }
        let folder = try Fixtures.temporaryDirectory(for: self)
        func write(_ path: String, _ text: String) throws {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try write("model_index.json", #"{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "PNDMScheduler"]}"#)
        try write("scheduler/scheduler_config.json", #"{"_class_name": "PNDMScheduler"}"#)
        try write("tokenizer/vocab.json", #"{"<|startoftext|>": 0, "<|endoftext|>": 1}"#)
        try write("tokenizer/merges.txt", "#version: 0.2\n")
        try write("unet/config.json", #"{"block_out_channels": [8, 16], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"], "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "norm_num_groups": 4, "attention_head_dim": 2}"#)
        try write("vae/config.json", #"{"block_out_channels": [4096], "layers_per_block": \#(vaeLayers)}"#)
        try write("text_encoder/config.json", #"{"hidden_size": 4096, "vocab_size": \#(vocabulary)}"#)
        // Each alone is accepted.
        _ = try VAEConfig.load(from: folder.appendingPathComponent("vae/config.json"))
        _ = try CLIPTextConfig.load(from: folder.appendingPathComponent("text_encoder/config.json"))
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: folder)) { error in
            guard case let .invalid(path, key, reason)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, folder.path)
            XCTAssertTrue(key.contains("text_encoder/"), key)
            XCTAssertTrue(reason.contains("together") && reason.contains("more than this machine's"), reason)
        }
    }
}
