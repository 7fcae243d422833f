import TensorCore

/// The encoded prompts of one generation: what every UNet call of the denoising loop is conditioned on.
struct EncodedPrompts {
    /// `encoder_hidden_states`: `[n, 77, D]` without guidance; `[2n, 77, D]` with it, the n unconditional items
    /// first (as diffusers), for n images per prompt.
    let embeddings: Tensor
    /// SDXL's pooled text embeddings and time ids (`added_cond_kwargs`), batched as ``embeddings``; nil for UNets
    /// without `text_time` conditioning.
    let textTime: TextTimeConditioning?
    /// Whether ``embeddings`` holds the unconditional item too.
    let guided: Bool
    let truncatedPrompt: String?
    let truncatedNegativePrompt: String?

    /// The prompts for `count` images: each item repeated `count` times, as diffusers' `num_images_per_prompt`.
    func repeated(_ count: Int) throws -> EncodedPrompts {
        let textTime = try self.textTime.map {
            TextTimeConditioning(textEmbeds: try $0.textEmbeds.repeatingItems(count), timeIds: try $0.timeIds.repeatingItems(count))
        }
        return EncodedPrompts(embeddings: try embeddings.repeatingItems(count), textTime: textTime, guided: guided,
                              truncatedPrompt: truncatedPrompt, truncatedNegativePrompt: truncatedNegativePrompt)
    }
}
