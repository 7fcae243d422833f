/// The checks that a pipeline's components fit together, shared by ``StableDiffusionPipeline`` and
/// ``StableDiffusionXLPipeline``. Each throws ``PipelineError/incompatibleComponents(_:)`` naming the mismatch.
enum PipelineCompatibility {
    /// The UNet takes and returns the VAE's latent channels.
    static func checkLatents(unet: UNet2DConditionModel, vae: VAEConfig) throws {
        guard unet.config.inChannels == vae.latentChannels, unet.config.outChannels == vae.latentChannels else {
            throw PipelineError.incompatibleComponents(
                "the UNet takes \(unet.config.inChannels) and returns \(unet.config.outChannels) channels, the VAE's latents have \(vae.latentChannels)")
        }
    }

    /// Every cross-attention of the UNet attends to `width` channels; `source` says where they come from (“the
    /// text encoder's hidden_size 768”).
    static func checkContextWidth(unet: UNet2DConditionModel, width: Int, source: String) throws {
        let contextWidths = Set(unet.transformerBlocks.map(\.attn2.contextDim))
        guard contextWidths.allSatisfy({ $0 == width }) else {
            throw PipelineError.incompatibleComponents(
                "the UNet's cross_attention_dim \(contextWidths.sorted()) differs from \(source)")
        }
    }

    /// The tokenizer's sequences fit the encoder's positions and its special ids its vocabulary.
    static func checkTokenizer(_ tokenizer: CLIPTokenizer, named tokenizerName: String = "tokenizer",
                               fits encoder: CLIPTextConfig, named encoderName: String = "text encoder") throws {
        guard tokenizer.maxLength <= encoder.maxPositionEmbeddings else {
            throw PipelineError.incompatibleComponents(
                "the \(tokenizerName) makes \(tokenizer.maxLength) tokens, the \(encoderName) takes at most \(encoder.maxPositionEmbeddings)")
        }
        let largestID = max(tokenizer.startTokenID, tokenizer.endTokenID, tokenizer.padTokenID)
        guard largestID < encoder.vocabSize else {
            throw PipelineError.incompatibleComponents(
                "the \(tokenizerName)'s special token id \(largestID) is outside the \(encoderName)'s vocabulary of \(encoder.vocabSize)")
        }
    }
}
