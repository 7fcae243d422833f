import TensorCore

/// SDXL's additional conditioning (`added_cond_kwargs`), required by UNets with `addition_embed_type` "text_time".
public struct TextTimeConditioning {
    /// Pooled text embeddings `[B, E]`, E = `projection_class_embeddings_input_dim - 6 · addition_time_embed_dim`.
    public var textEmbeds: Tensor
    /// `[B, 6]`: original size, crop top-left and target size.
    public var timeIds: Tensor

    /// Values per batch item in ``timeIds``: original (height, width), crop (top, left), target (height, width).
    public static let timeIDCount = 6

    /// The default conditioning of diffusers' `StableDiffusionXLPipeline` for an image of `width` × `height`,
    /// repeated for each row of `textEmbeds`: original size = target size = the image's, crop at (0, 0).
    /// - Throws: ``TensorError`` when `textEmbeds` is not `[B, E]`.
    public init(textEmbeds: Tensor, imageWidth width: Int, imageHeight height: Int) throws {
        let batch = textEmbeds.shape.first ?? 0
        let ids = [Float(height), Float(width), 0, 0, Float(height), Float(width)]
        self.init(textEmbeds: textEmbeds,
                  timeIds: try Tensor(shape: [batch, Self.timeIDCount], scalars: Array(repeating: ids, count: batch).flatMap { $0 }))
    }

    /// Conditioning from `textEmbeds` and `timeIds`.
    public init(textEmbeds: Tensor, timeIds: Tensor) {
        self.textEmbeds = textEmbeds
        self.timeIds = timeIds
    }
}

extension UNet2DConditionModel {
    /// One denoising step: predicts the output (noise, for SD) for `sample`.
    ///
    /// - Parameters:
    ///   - sample: the noisy latent `[B, H, W, in_channels]`, NHWC (any H, W ≥ 1; odd sizes take diffusers'
    ///     `upsample_size` path).
    ///   - timesteps: one timestep for the whole batch, or one per batch item.
    ///   - encoderHiddenStates: `[B, L, cross_attention_dim]`.
    ///   - textTime: SDXL's text embeddings and time ids; required exactly when the config has "text_time".
    /// - Returns: `[B, H, W, out_channels]`, NHWC.
    /// - Throws: ``UNetInputError`` naming the input for any rank, shape or count that does not fit the model.
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor,
                               textTime: TextTimeConditioning? = nil) throws -> Tensor {
        try validateInputs(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, textTime: textTime)
        let (batch, height, width) = (sample.shape[0], sample.shape[1], sample.shape[2])
        let state = UNetForwardState(attention: attentionImplementation,
                                     tokenContext: TokenReductionContext(latentHeight: height, latentWidth: width,
                                                                                 timestep: timesteps.first))
        let embedding = silu(try timeEmbedding(batch: batch, timesteps: timesteps, textTime: textTime))
        let context = encoderHiddenStates

        var hidden = try convIn(config.centerInputSample ? centered(sample) : sample)
        var skips = [hidden]
        for block in downBlocks {
            let (output, blockSkips) = try block(hidden, embedding: embedding, context: context, state: state)
            hidden = output
            skips += blockSkips
        }
        if let midBlock { hidden = try midBlock(hidden, embedding: embedding, context: context, state: state) }

        let factor = 1 << config.upsamplerCount
        let forwardUpsampleSize = height % factor != 0 || width % factor != 0
        for (index, block) in upBlocks.enumerated() {
            var size: (height: Int, width: Int)?
            let remaining = skips.count - block.resnets.count
            if index < upBlocks.count - 1, forwardUpsampleSize, remaining >= 1 {
                size = (skips[remaining - 1].shape[1], skips[remaining - 1].shape[2])
            }
            hidden = try block(hidden, skips: &skips, embedding: embedding, context: context, upsampleSize: size, state: state)
        }
        return try convOut(hidden, normalizedBy: convNormOut, silu: true)
    }

    /// The timestep embedding `[B, time_embed_dim]`, plus SDXL's text-time embedding.
    private func timeEmbedding(batch: Int, timesteps: [Float], textTime conditioning: TextTimeConditioning?) throws -> Tensor {
        let perItem = timesteps.count == 1 ? Array(repeating: timesteps[0], count: batch) : timesteps
        var embedding = try timeEmbedding(timeProjection(perItem))
        if let textTime, let conditioning {
            let timeEmbeds = textTime.projection(conditioning.timeIds.scalars)  // [B·6, d]
            let textWidth = conditioning.textEmbeds.shape[1], timeWidth = timeEmbeds.count / batch
            var joined = Tensor(uninitialized: [batch, textWidth + timeWidth])
            joined.withUnsafeMutableBufferPointer { out in
                conditioning.textEmbeds.withUnsafeBufferPointer { text in
                    timeEmbeds.withUnsafeBufferPointer { time in
                        for b in 0..<batch {
                            let row = out.baseAddress! + b * (textWidth + timeWidth)
                            row.update(from: text.baseAddress! + b * textWidth, count: textWidth)
                            (row + textWidth).update(from: time.baseAddress! + b * timeWidth, count: timeWidth)
                        }
                    }
                }
            }
            embedding = try embedding + textTime.embedding(joined)
        }
        return embedding
    }

    /// `2 · x - 1` (`center_input_sample`).
    private func centered(_ sample: Tensor) -> Tensor {
        var result = sample
        result.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] = 2 * values[i] - 1 }
        }
        return result
    }

    private func validateInputs(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor,
                                textTime: TextTimeConditioning?) throws {
        guard sample.rank == 4, sample.shape[0] >= 1, sample.shape[1] >= 1, sample.shape[2] >= 1,
              sample.shape[3] == config.inChannels else {
            throw UNetInputError(input: "sample", reason: "expected [B, H, W, \(config.inChannels)] (NHWC, all ≥ 1), got \(sample.shape)")
        }
        let batch = sample.shape[0]
        let bytes = config.estimatedActivationBytes(batch: batch, height: sample.shape[1], width: sample.shape[2],
                                                    attention: attentionImplementation)
        guard let bytes, bytes <= CheckedSize.physicalMemoryBytes else {
            throw UNetInputError(input: "sample", reason: "\(sample.shape) is too large: the forward would need about "
                + (bytes.map { CheckedSize.describe(bytes: $0) } ?? "more bytes than can be counted")
                + ", more than this machine's \(CheckedSize.describe(bytes: CheckedSize.physicalMemoryBytes)) of memory")
        }
        guard timesteps.count == 1 || timesteps.count == batch else {
            throw UNetInputError(input: "timestep", reason: "expected 1 or \(batch) values, got \(timesteps.count)")
        }
        guard timesteps.allSatisfy(\.isFinite) else { throw UNetInputError(input: "timestep", reason: "not finite: \(timesteps)") }
        let contextDims = Set(transformerBlocks.map(\.attn2.contextDim))
        guard encoderHiddenStates.rank == 3, encoderHiddenStates.shape[0] == batch, encoderHiddenStates.shape[1] >= 1,
              contextDims.allSatisfy({ $0 == encoderHiddenStates.shape[2] }) else {
            let width = contextDims.count == 1 ? String(contextDims.first!) : "D"
            throw UNetInputError(input: "encoder_hidden_states",
                                 reason: "expected [\(batch), L ≥ 1, \(width)], got \(encoderHiddenStates.shape)")
        }
        guard let spec = config.textTimeEmbedding else {
            if textTime != nil {
                throw UNetInputError(input: "text_embeds", reason: "given, but the model has no addition_embed_type \"text_time\"")
            }
            return
        }
        guard let textTime else {
            throw UNetInputError(input: "text_embeds", reason: "required by addition_embed_type \"text_time\" (with time_ids)")
        }
        let textWidth = spec.textEmbedsWidth
        guard textTime.textEmbeds.shape == [batch, textWidth] else {
            throw UNetInputError(input: "text_embeds", reason: "expected [\(batch), \(textWidth)], got \(textTime.textEmbeds.shape)")
        }
        guard textTime.timeIds.shape == [batch, TextTimeConditioning.timeIDCount] else {
            throw UNetInputError(input: "time_ids", reason: "expected [\(batch), \(TextTimeConditioning.timeIDCount)], got \(textTime.timeIds.shape)")
        }
    }
}

/// What every layer of one UNet call shares: the attention implementation and the latent size (for token
/// reduction hooks).
struct UNetForwardState {
    let attention: AttentionImplementation
    let tokenContext: TokenReductionContext
}
