import TensorCore

/// The encoded prompts of one generation: what every UNet call of the denoising loop is conditioned on.
struct EncodedPrompts {
    /// `encoder_hidden_states`: `[1, 77, D]` without guidance; `[2, 77, D]` with it, the unconditional item first
    /// (as diffusers).
    let embeddings: Tensor
    /// SDXL's pooled text embeddings and time ids (`added_cond_kwargs`), batched as ``embeddings``; nil for UNets
    /// without `text_time` conditioning.
    let textTime: TextTimeConditioning?
    /// Whether ``embeddings`` holds the unconditional item too.
    let guided: Bool
    let truncatedPrompt: String?
    let truncatedNegativePrompt: String?
}
