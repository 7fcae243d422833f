import Foundation
import StableDiffusion
import TestSupport
import XCTest

/// Every JSON file of a model folder refuses a duplicate key with an error naming the key and the file. Python's
/// `json` keeps the last value and Foundation's `JSONDecoder` one of them: the same file would describe two models.
final class DuplicateKeyTests: XCTestCase {
    private func assertNamesKey(_ key: String, _ file: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("duplicate key '\(key)'"), "message does not name the key: \(message)", line: line)
            XCTAssertTrue(message.contains(file), "message does not name the file: \(message)", line: line)
        }
    }

    func testModelConfigs() {
        assertNamesKey("in_channels", "unet/config.json") {
            _ = try UNetConfig.decode(Data(#"{"in_channels": 4, "out_channels": 4, "in_channels": 9}"#.utf8), path: "unet/config.json")
        }
        assertNamesKey("hidden_size", "text_encoder/config.json") {
            _ = try CLIPTextConfig.decode(Data(#"{"hidden_size": 64, "hidden_size": 64}"#.utf8), path: "text_encoder/config.json")
        }
        // Nested objects too.
        assertNamesKey("x", "vae/config.json") {
            _ = try VAEConfig.decode(Data(#"{"_diffusers": {"x": 1, "x": 2}}"#.utf8), path: "vae/config.json")
        }
        assertNamesKey("num_train_timesteps", "scheduler_config.json") {
            _ = try SchedulerConfig(json: Data(#"{"num_train_timesteps": 1000, "num_train_timesteps": 10}"#.utf8),
                                    source: "scheduler/scheduler_config.json")
        }
    }

    func testTokenizerFiles() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        func write(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: folder.appendingPathComponent(name))
        }
        let vocabulary = #"{"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2}"#
        try write("vocab.json", vocabulary)
        try write("merges.txt", "#version: 0.2\n")
        XCTAssertEqual(try CLIPTokenizer(folder: folder).encode("a").ids.prefix(3), [0, 2, 1], "the valid folder loads")

        try write("vocab.json", #"{"<|startoftext|>": 0, "<|endoftext|>": 1, "a</w>": 2, "a</w>": 3}"#)
        assertNamesKey("a</w>", "vocab.json") { _ = try CLIPTokenizer(folder: folder) }
        try write("vocab.json", vocabulary)

        try write("tokenizer_config.json", #"{"model_max_length": 77, "model_max_length": 8}"#)
        assertNamesKey("model_max_length", "tokenizer_config.json") { _ = try CLIPTokenizer(folder: folder) }
        try write("tokenizer_config.json", #"{"model_max_length": 77}"#)

        try write("special_tokens_map.json", #"{"pad_token": "a</w>", "pad_token": "<|endoftext|>"}"#)
        assertNamesKey("pad_token", "special_tokens_map.json") { _ = try CLIPTokenizer(folder: folder) }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("special_tokens_map.json"))

        try write("tokenizer.json", #"{"model": {"type": "BPE", "vocab": {"a</w>": 2, "<|startoftext|>": 0, "<|endoftext|>": 1}, "#
                  + #""merges": [], "merges": []}}"#)
        assertNamesKey("merges", "tokenizer.json") { _ = try CLIPTokenizer(folder: folder) }
    }

    func testModelIndex() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let index = #"{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "unet": [null, null]}"#
        try Data(index.utf8).write(to: folder.appendingPathComponent("model_index.json"))
        assertNamesKey("unet", "model_index.json") { _ = try StableDiffusionPipeline(folder: folder) }
    }
}
