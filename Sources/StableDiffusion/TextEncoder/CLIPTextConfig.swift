import Foundation
import TensorCore

/// The configuration of a ``CLIPTextModel``, as transformers writes it in `text_encoder/config.json`
/// (`CLIPTextConfig`). Property names follow the JSON keys (`hidden_size` → ``hiddenSize``); a fresh value has
/// transformers' defaults. ``stableDiffusion15`` is SD 1.x's encoder (CLIP ViT-L/14's text tower).
public struct CLIPTextConfig: Equatable, Sendable, ConfigFile {
    /// The activation between the two layers of each MLP (`hidden_act`).
    public enum Activation: String, Equatable, Sendable, CaseIterable {
        /// `x · sigmoid(1.702 x)`: OpenAI CLIP (SD 1.x).
        case quickGELU = "quick_gelu"
        /// The exact (erf) GELU: OpenCLIP (SD 2.x).
        case gelu
    }

    /// Token ids the embedding table holds (`vocab_size`).
    public var vocabSize = 49408
    /// Width of every token's hidden state (`hidden_size`).
    public var hiddenSize = 512
    /// Width of the MLP's hidden layer (`intermediate_size`).
    public var intermediateSize = 2048
    /// Transformer layers (`num_hidden_layers`; SD 2.x's diffusers folders say 23: the 24th is unused).
    public var numHiddenLayers = 12
    /// Attention heads per layer (`num_attention_heads`); divides ``hiddenSize``.
    public var numAttentionHeads = 8
    /// Positions the position table holds, the longest token sequence (`max_position_embeddings`).
    public var maxPositionEmbeddings = 77
    /// The MLP activation (`hidden_act`).
    public var hiddenAct = Activation.quickGELU
    /// Added to the variance in every LayerNorm (`layer_norm_eps`).
    public var layerNormEps: Float = 1e-5

    /// transformers' defaults.
    public init() {}

    /// SD 1.x's text encoder (`openai/clip-vit-large-patch14`): 12 layers of 768 channels, 12 heads, quick-GELU.
    public static var stableDiffusion15: CLIPTextConfig {
        var config = CLIPTextConfig()
        config.hiddenSize = 768
        config.intermediateSize = 3072
        config.numAttentionHeads = 12
        return config
    }


    /// Decodes and validates a configuration from JSON `data`; `path` names it in errors.
    ///
    /// Only the keys that shape the text tower are read. transformers writes many generic keys beside them
    /// (`architectures`, `torch_dtype`, token ids, dropout rates, `projection_dim` of the projection head that
    /// `CLIPTextModel` does not have...), none of which changes the encoder's output, so other keys are ignored
    /// rather than rejected. `model_type` must be a CLIP text model when present.
    /// - Throws: ``ConfigError``.
    public static func decode(_ data: Data, path: String) throws -> CLIPTextConfig {
        var reader = try ConfigReader(json: data, path: path)
        try reader.require("model_type", in: [.null, .string("clip_text_model")])
        var config = CLIPTextConfig()
        config.vocabSize = try reader.int("vocab_size") ?? config.vocabSize
        config.hiddenSize = try reader.int("hidden_size") ?? config.hiddenSize
        config.intermediateSize = try reader.int("intermediate_size") ?? config.intermediateSize
        config.numHiddenLayers = try reader.int("num_hidden_layers") ?? config.numHiddenLayers
        config.numAttentionHeads = try reader.int("num_attention_heads") ?? config.numAttentionHeads
        config.maxPositionEmbeddings = try reader.int("max_position_embeddings") ?? config.maxPositionEmbeddings
        config.layerNormEps = try reader.float("layer_norm_eps") ?? config.layerNormEps
        if let name = reader.value("hidden_act") {
            guard case .string(let text) = name, let activation = Activation(rawValue: text) else {
                throw ConfigError.unsupported(path: path, key: "hidden_act", value: name.description,
                                              supported: Activation.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
            }
            config.hiddenAct = activation
        }
        try config.validate(path: path)
        return config
    }

    /// The parameter count of the text tower (token and position tables, then per layer the four attention
    /// projections, the two MLP layers and two LayerNorms, then the final LayerNorm), or nil when it overflows.
    public var parameterCount: Int? {
        let width = hiddenSize
        let layer = CheckedSize.sum([CheckedSize.product([4, width + 1, width]), CheckedSize.product([2, width, intermediateSize]),
                                     intermediateSize + width, 4 * width])
        return CheckedSize.sum([CheckedSize.product([vocabSize, width]), CheckedSize.product([maxPositionEmbeddings, width]),
                                layer.flatMap { CheckedSize.product([numHiddenLayers, $0]) }, 2 * width])
    }

    /// Checks that every size is positive, the heads divide the width and the epsilon is not negative.
    /// - Throws: ``ConfigError/invalid(path:key:reason:)`` naming the key.
    public func validate(path: String = "CLIP text configuration") throws {
        for (key, value) in [("vocab_size", vocabSize), ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                             ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                             ("max_position_embeddings", maxPositionEmbeddings)] where value < 1 {
            throw ConfigError.invalid(path: path, key: key, reason: "must be positive, got \(value)")
        }
        for (key, value, limit) in [("vocab_size", vocabSize, ConfigLimits.vocabulary), ("hidden_size", hiddenSize, ConfigLimits.channels),
                                    ("intermediate_size", intermediateSize, 4 * ConfigLimits.channels),
                                    ("num_hidden_layers", numHiddenLayers, ConfigLimits.layers),
                                    ("num_attention_heads", numAttentionHeads, ConfigLimits.channels),
                                    ("max_position_embeddings", maxPositionEmbeddings, ConfigLimits.positions)] {
            try ConfigLimits.check([value], atMost: limit, key: key, path: path)
        }
        try ConfigLimits.checkFits(parameterCount.flatMap { CheckedSize.product([MemoryLayout<Float>.stride, $0]) },
                                   "the weights (\(parameterCount.map { "\($0) parameters" } ?? "too many parameters to count"))",
                                   keys: "vocab_size, hidden_size, intermediate_size, num_hidden_layers, max_position_embeddings",
                                   path: path)
        guard hiddenSize % numAttentionHeads == 0 else {
            throw ConfigError.invalid(path: path, key: "num_attention_heads",
                                      reason: "\(numAttentionHeads) heads do not divide hidden_size \(hiddenSize)")
        }
        guard layerNormEps >= 0 else {
            throw ConfigError.invalid(path: path, key: "layer_norm_eps", reason: "must not be negative, got \(layerNormEps)")
        }
    }
}
