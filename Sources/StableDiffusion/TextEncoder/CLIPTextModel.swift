import TensorCore

/// transformers' `CLIPTextModel`, the text encoder of Stable Diffusion: token and position embeddings, a stack of
/// pre-LayerNorm transformer layers with causal self-attention, and a final LayerNorm. Its output
/// (`last_hidden_state`) is what diffusers' pipeline hands the UNet as `encoder_hidden_states`.
///
/// Parameter names are transformers' without the `text_model.` prefix that older checkpoints carry
/// (`embeddings.token_embedding.weight`, `encoder.layers.0.self_attn.q_proj.weight`, `final_layer_norm.weight`);
/// ``load(from:precision:)`` reads either spelling.
public final class CLIPTextModel {
    /// The architecture.
    public let config: CLIPTextConfig
    /// `[vocab_size, hidden_size]`.
    let tokenEmbedding: Tensor
    /// `[max_position_embeddings, hidden_size]`.
    let positionEmbedding: Tensor
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm

    /// Builds the model of `config` with parameters from `parameters`, its linear and convolution weights packed in
    /// `precision` (``Precision``; bias, norms and the rest stay fp32).
    /// - Throws: ``ConfigError`` for an invalid configuration, or the source's error (``WeightError``) listing
    ///   every missing, unexpected or mis-shaped parameter.
    package init(config: CLIPTextConfig, parameters: ParameterSource, precision: Precision = .fp32) throws {
        try config.validate()
        self.config = config
        let root = ParameterScope(parameters, precision: precision)
        let dim = config.hiddenSize
        tokenEmbedding = root("embeddings", "token_embedding").parameter("weight", shape: [config.vocabSize, dim],
                                                                         role: .weight(fanIn: dim))
        positionEmbedding = root("embeddings", "position_embedding").parameter(
            "weight", shape: [config.maxPositionEmbeddings, dim], role: .weight(fanIn: dim))
        layers = (0..<config.numHiddenLayers).map { CLIPEncoderLayer(root("encoder", "layers", $0), config: config) }
        finalLayerNorm = LayerNorm(root("final_layer_norm"), dim: dim, eps: config.layerNormEps)
        try parameters.finish()
    }

    /// Builds the model of `config` with seeded random parameters (``RandomParameterSource``), packed in `precision`.
    /// - Throws: ``ConfigError`` for an invalid configuration.
    public convenience init(config: CLIPTextConfig, seed: UInt64, precision: Precision = .fp32) throws {
        try self.init(config: config, parameters: RandomParameterSource(seed: seed), precision: precision)
    }

    /// Encodes a batch of token sequences of equal length (at most `max_position_embeddings`): the last hidden
    /// state `[B, L, hidden_size]`.
    /// - Throws: ``TextEncoderInputError`` for an empty batch, sequences of different or excessive length, or an
    ///   id outside the vocabulary.
    public func callAsFunction(_ tokenIDs: [[Int]]) throws -> Tensor {
        var hidden = try embed(tokenIDs)
        for layer in layers { hidden = try layer(hidden) }
        return try finalLayerNorm(hidden)
    }

    /// Token embedding plus position embedding of each token: `[B, L, hidden_size]`.
    private func embed(_ tokenIDs: [[Int]]) throws -> Tensor {
        guard let length = tokenIDs.first?.count, length >= 1 else {
            throw TextEncoderInputError("expected at least one non-empty token sequence")
        }
        guard tokenIDs.allSatisfy({ $0.count == length }) else {
            throw TextEncoderInputError("token sequences have different lengths: \(tokenIDs.map(\.count))")
        }
        guard length <= config.maxPositionEmbeddings else {
            throw TextEncoderInputError("\(length) tokens exceed max_position_embeddings \(config.maxPositionEmbeddings)")
        }
        if let bad = tokenIDs.joined().first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw TextEncoderInputError("token id \(bad) is outside the vocabulary of \(config.vocabSize) tokens")
        }
        let dim = config.hiddenSize
        var hidden = Tensor(uninitialized: [tokenIDs.count, length, dim])
        hidden.withUnsafeMutableBufferPointer { out in
            tokenEmbedding.withUnsafeBufferPointer { tokens in
                positionEmbedding.withUnsafeBufferPointer { positions in
                    for (b, ids) in tokenIDs.enumerated() {
                        for (position, id) in ids.enumerated() {
                            let row = out.baseAddress! + (b * length + position) * dim
                            for c in 0..<dim { row[c] = tokens[id * dim + c] + positions[position * dim + c] }
                        }
                    }
                }
            }
        }
        return hidden
    }
}
