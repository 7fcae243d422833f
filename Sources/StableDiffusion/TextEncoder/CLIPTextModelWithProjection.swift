import Foundation
import TensorCore

/// transformers' `CLIPTextModelWithProjection`, SDXL's second text encoder (`text_encoder_2`): a ``CLIPTextModel``
/// (parameters under `text_model.`) and a bias-free linear `text_projection` applied to the pooled output — the final
/// hidden state of the end-of-text token — giving `text_embeds` `[B, projection_dim]`.
///
/// Which token is pooled follows transformers: with `eos_token_id` 2 in the configuration (older configurations,
/// SDXL's among them) the token with the largest id of each sequence (the end token in CLIP's vocabulary); otherwise
/// the first token equal to `eos_token_id` (position 0 when there is none, as `argmax` of all zeros gives).
public final class CLIPTextModelWithProjection {
    /// The text tower.
    public let textModel: CLIPTextModel
    /// `text_projection`, `[hidden_size → projection_dim]`, no bias.
    let textProjection: Linear

    /// The architecture (``CLIPTextConfig/projectionDim`` is the projection's width).
    public var config: CLIPTextConfig { textModel.config }

    /// Builds the model of `config` with parameters from `parameters` (`text_model.…` and `text_projection.weight`),
    /// its linear weights packed in `precision` (``Precision``).
    /// - Throws: ``ConfigError`` for an invalid configuration, or the source's error (``WeightError``) listing
    ///   every missing, unexpected or mis-shaped parameter.
    package init(config: CLIPTextConfig, parameters: ParameterSource, precision: Precision = .fp32) throws {
        let root = ParameterScope(parameters, precision: precision)
        textModel = try CLIPTextModel(config: config, scope: root("text_model"))
        textProjection = Linear(root("text_projection"), inFeatures: config.hiddenSize, outFeatures: config.projectionDim,
                                bias: false)
        try parameters.finish()
    }

    /// Builds the model of `config` with seeded random parameters (``RandomParameterSource``), packed in `precision`.
    /// - Throws: ``ConfigError`` for an invalid configuration.
    public convenience init(config: CLIPTextConfig, seed: UInt64, precision: Precision = .fp32) throws {
        try self.init(config: config, parameters: RandomParameterSource(seed: seed), precision: precision)
    }

    /// Loads a diffusers `text_encoder_2/` folder: `config.json` and a weight file from
    /// ``CLIPTextModel/weightFileNames`` (parameters `text_model.…` and `text_projection.weight`; a stored
    /// `position_ids` buffer is ignored), linear weights packed in `precision`.
    /// - Throws: as ``CLIPTextModel/load(from:precision:)``.
    public static func load(from folder: URL, precision: Precision = .fp32) throws -> CLIPTextModelWithProjection {
        let config = try CLIPTextConfig.load(from: try ModelFolder.file("config.json", in: folder))
        let file = try SafeTensorsFile(contentsOf: try ModelFolder.weightFile(in: folder, candidates: CLIPTextModel.weightFileNames))
        let buffer = CLIPTextModel.legacyPrefix + CLIPTextModel.positionIDsBuffer
        let source = RenamingParameterSource(SafeTensorsParameterSource(file: file), ignoring: { $0 == buffer })
        return try CLIPTextModelWithProjection(config: config, parameters: source, precision: precision)
    }

    /// Encodes a batch of token sequences: the penultimate hidden state `[B, L, hidden_size]` (transformers'
    /// `hidden_states[-2]`) and the projected pooled output `text_embeds` `[B, projection_dim]`.
    /// - Throws: ``TextEncoderInputError`` as ``CLIPTextModel/callAsFunction(_:)``.
    public func callAsFunction(_ tokenIDs: [[Int]]) throws -> (penultimate: Tensor, textEmbeds: Tensor) {
        let states = try textModel.hiddenStates(tokenIDs)
        let dim = config.hiddenSize, length = states.last.shape[1]
        var pooled = Tensor(uninitialized: [tokenIDs.count, dim])
        states.last.withUnsafeBufferPointer { last in
            pooled.withUnsafeMutableBufferPointer { out in
                for (b, ids) in tokenIDs.enumerated() {
                    let position = pooledPosition(ids)
                    for c in 0..<dim { out[b * dim + c] = last[(b * length + position) * dim + c] }
                }
            }
        }
        return (states.penultimate, try textProjection(pooled))
    }

    /// The position whose final hidden state is pooled (see the type's documentation).
    func pooledPosition(_ ids: [Int]) -> Int {
        if config.eosTokenID == 2 {
            // The first largest id, as torch's argmax.
            return ids.indices.max { ids[$0] < ids[$1] || (ids[$0] == ids[$1] && $0 > $1) } ?? 0
        }
        return ids.firstIndex(of: config.eosTokenID) ?? 0
    }
}
