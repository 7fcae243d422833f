import Foundation
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The CLIP text encoder against transformers' `CLIPTextModel` (fixtures: `make_pipeline_fixtures.py`).
final class TextEncoderTests: XCTestCase {
    /// SD 1 style (quick-GELU, transformers 5 names) and SD 2 style (GELU, `text_model.` prefix and the
    /// `position_ids` buffer): token ids from the folder's tokenizer equal transformers', hidden states match.
    func testMatchesTransformers() throws {
        for style in PipelineFixtures.styles {
            let folder = PipelineFixtures.folder(style)
            let model = try CLIPTextModel.load(from: folder.appendingPathComponent("text_encoder"))
            let tokenizer = try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer"))
            let reference = try PipelineFixtures.tensors(style)
            for (index, prompt) in try PipelineFixtures.cases(style).textPrompts.enumerated() {
                let ids = tokenizer.encode(prompt).ids
                XCTAssertEqual(ids, try reference.tensor("text.\(index).ids").scalars.map { Int($0) }, "\(style) prompt \(index) ids")
                let embeddings = try model([ids])
                assertMatchesReference(embeddings, try reference.tensor("text.\(index).embeddings"), relative: 1e-5,
                                       absolute: 1e-4, "\(style) prompt \(index)")
            }
        }
    }

    /// A batch of two sequences gives each sequence's own result.
    func testBatchMatchesSingleSequences() throws {
        let model = try CLIPTextModel(config: Self.tinyConfig(), seed: 3)
        let first = Array(0..<10), second = [5, 4, 3, 2, 1, 0, 9, 9, 9, 9]
        let batch = try model([first, second])
        let single = try model([second])
        assertClose(try batch.sliced(1..<2, axis: 0).scalars, single.scalars, tolerance: 1e-5, "second item")
    }

    /// Each token only sees the tokens before it: changing a later token leaves earlier outputs unchanged.
    func testAttentionIsCausal() throws {
        let model = try CLIPTextModel(config: Self.tinyConfig(), seed: 4)
        let a = try model([[1, 2, 3, 4, 5, 6]]), b = try model([[1, 2, 3, 9, 9, 9]])
        XCTAssertEqual(Array(a.scalars.prefix(3 * 16)), Array(b.scalars.prefix(3 * 16)))
        XCTAssertNotEqual(Array(a.scalars.suffix(3 * 16)), Array(b.scalars.suffix(3 * 16)))
    }

    func testRejectsBadTokenIDs() throws {
        let model = try CLIPTextModel(config: Self.tinyConfig(), seed: 1)
        XCTAssertThrowsError(try model([[1, 2, 40]])) { XCTAssertTrue("\($0)".contains("token id 40 is outside the vocabulary")) }
        XCTAssertThrowsError(try model([[1, -1]])) { XCTAssertTrue("\($0)".contains("token id -1")) }
        XCTAssertThrowsError(try model([Array(repeating: 1, count: 13)])) { XCTAssertTrue("\($0)".contains("max_position_embeddings 12")) }
        XCTAssertThrowsError(try model([[1, 2], [1]])) { XCTAssertTrue("\($0)".contains("different lengths")) }
        XCTAssertThrowsError(try model([])) { XCTAssertTrue($0 is TextEncoderInputError) }
    }

    func testConfigErrorsNameTheKey() throws {
        func decode(_ json: String) throws -> CLIPTextConfig {
            try CLIPTextConfig.decode(Data(json.utf8), path: "text_encoder/config.json")
        }
        XCTAssertEqual(try decode(#"{"hidden_act": "gelu", "num_hidden_layers": 23, "hidden_size": 1024, "num_attention_heads": 16}"#).numHiddenLayers, 23)
        XCTAssertThrowsError(try decode(#"{"hidden_act": "relu"}"#)) {
            XCTAssertEqual($0 as? ConfigError, .unsupported(path: "text_encoder/config.json", key: "hidden_act", value: "\"relu\"",
                                                           supported: "\"quick_gelu\", \"gelu\""))
        }
        XCTAssertThrowsError(try decode(#"{"hidden_size": 30, "num_attention_heads": 4}"#)) {
            XCTAssertTrue("\($0)".contains("'num_attention_heads'"))
        }
        XCTAssertThrowsError(try decode(#"{"vocab_size": 0}"#)) { XCTAssertTrue("\($0)".contains("'vocab_size'")) }
        XCTAssertThrowsError(try decode(#"{"model_type": "t5"}"#)) { XCTAssertTrue("\($0)".contains("'model_type'")) }
        XCTAssertThrowsError(try decode("[1]")) { XCTAssertTrue("\($0)".contains("not a JSON object")) }
    }

    /// A missing weight file, and weights of another shape, are reported with the file and the tensors.
    func testLoadErrorsNameTheFileAndTensors() throws {
        let copy = try PipelineFixtures.copy("sd1", for: self).appendingPathComponent("text_encoder")
        var config = try String(contentsOf: copy.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"intermediate_size\": 64", with: "\"intermediate_size\": 48")
        try config.write(to: copy.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CLIPTextModel.load(from: copy)) { error in
            guard case WeightError.mismatch(_, let missing, let unexpected, let misshaped, _)? = error as? WeightError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(missing, [])
            XCTAssertEqual(unexpected, [])
            XCTAssertTrue(misshaped.contains { $0.name == "encoder.layers.0.mlp.fc1.weight" && $0.found == [64, 32] })
        }
        try FileManager.default.removeItem(at: copy.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try CLIPTextModel.load(from: copy)) { XCTAssertTrue("\($0)".contains("model.safetensors, model.fp16.safetensors")) }
    }

    static func tinyConfig() -> CLIPTextConfig {
        var config = CLIPTextConfig()
        config.vocabSize = 40
        config.hiddenSize = 16
        config.intermediateSize = 24
        config.numHiddenLayers = 2
        config.numAttentionHeads = 4
        config.maxPositionEmbeddings = 12
        return config
    }
}
