import Foundation
import TensorCore

extension CLIPTextModel {
    /// The weight file names tried, in order: full precision first, then the "fp16" variant.
    public static let weightFileNames = ["model.safetensors", "model.fp16.safetensors"]

    /// The prefix transformers 4 puts before every parameter name (transformers 5 writes none).
    static let legacyPrefix = "text_model."
    /// A buffer older checkpoints store beside the parameters: `arange(max_position_embeddings)`, not a weight.
    static let positionIDsBuffer = "embeddings.position_ids"

    /// Loads a diffusers `text_encoder/` folder: `config.json` and a weight file from ``weightFileNames``, with
    /// parameter names as transformers 4 (`text_model.` prefix) or transformers 5 (no prefix) writes them. Weights
    /// stored as F32, F16 or BF16 are converted to `Float` once, here; linear weights are packed in `precision`.
    /// - Throws: ``WeightError`` for a missing file or weights that do not fit the configuration (listing every
    ///   missing, unexpected and mis-shaped tensor), ``ConfigError`` for the configuration, ``SafeTensorsError``
    ///   for a malformed or truncated weight file.
    public static func load(from folder: URL, precision: Precision = .fp32) throws -> CLIPTextModel {
        let config = try CLIPTextConfig.load(from: try ModelFolder.file("config.json", in: folder))
        let file = try SafeTensorsFile(contentsOf: try ModelFolder.weightFile(in: folder, candidates: weightFileNames))
        let prefix = file.descriptors[legacyPrefix + "embeddings.token_embedding.weight"] != nil ? legacyPrefix : ""
        let source = RenamingParameterSource(SafeTensorsParameterSource(file: file),
                                             ignoring: { $0 == prefix + positionIDsBuffer }) { prefix + $0 }
        return try CLIPTextModel(config: config, parameters: source, precision: precision)
    }
}
