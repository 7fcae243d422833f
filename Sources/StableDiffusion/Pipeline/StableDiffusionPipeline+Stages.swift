import ImageFiles
import TensorCore

/// The encoded prompts of one generation.
struct EncodedPrompts {
    /// `[n, 77, D]` without guidance; `[2n, 77, D]` with it, the n unconditional items first (as diffusers), for n
    /// images per prompt.
    let embeddings: Tensor
    /// Whether ``embeddings`` holds the unconditional items too.
    let guided: Bool
    let truncatedPrompt: String?
    let truncatedNegativePrompt: String?

    /// The prompts for `count` images: each embedding repeated `count` times, as diffusers' `num_images_per_prompt`.
    func repeated(_ count: Int) throws -> EncodedPrompts {
        EncodedPrompts(embeddings: try embeddings.repeatingItems(count), guided: guided, truncatedPrompt: truncatedPrompt,
                       truncatedNegativePrompt: truncatedNegativePrompt)
    }
}

extension StableDiffusionPipeline {
    /// Tokenizes and encodes the prompt (and the negative prompt, with guidance) in one text encoder call.
    func encodePrompts(_ configuration: GenerationConfiguration) throws -> EncodedPrompts {
        let prompt = tokenizer.encode(configuration.prompt)
        let negative = configuration.usesGuidance ? tokenizer.encode(configuration.negativePrompt ?? "") : nil
        let ids = (negative.map { [$0.ids] } ?? []) + [prompt.ids]
        let embeddings = try textEncoder()(ids)
        func truncated(_ encoded: TokenizedPrompt?) -> String? { encoded.flatMap(tokenizer.truncatedText) }
        return EncodedPrompts(embeddings: embeddings, guided: negative != nil, truncatedPrompt: truncated(prompt),
                              truncatedNegativePrompt: truncated(negative))
    }

    /// The scheduler's model output for `latents` (NCHW, n items) at `timestep`: one UNet call, on a batch of 2n
    /// with guidance, combined as diffusers does (`uncond + scale · (cond − uncond)`).
    func predictNoise(_ latents: Tensor, timestep: Float, scheduler: any Scheduler, prompts: EncodedPrompts,
                      guidanceScale: Float) throws -> Tensor {
        let batch = prompts.guided ? try Tensor.concatenated([latents, latents], axis: 0) : latents
        let input = try scheduler.scaleModelInput(batch).permuted([0, 2, 3, 1])
        let output = try unet(input, timesteps: [timestep], encoderHiddenStates: prompts.embeddings).permuted([0, 3, 1, 2])
        guard prompts.guided else { return output }
        let half = output.count / 2
        var guided = Tensor(uninitialized: latents.shape)
        output.withUnsafeBufferPointer { prediction in
            guided.withUnsafeMutableBufferPointer { result in
                for i in 0..<half {
                    let unconditional = prediction[i], conditional = prediction[half + i]
                    result[i] = unconditional + guidanceScale * (conditional - unconditional)
                }
            }
        }
        return guided
    }

    /// Decodes final latents (NCHW) into 8-bit images: divided by the VAE's `scaling_factor`, decoded, quantised
    /// as diffusers' image processor does.
    func decode(_ latents: Tensor) throws -> [RGBImage] {
        var z = try latents.permuted([0, 2, 3, 1])
        let scale = vae.config.scalingFactor
        z.withUnsafeMutableBufferPointer { values in
            for i in values.indices { values[i] /= scale }
        }
        return try RGBImage.images(fromDecoderOutput: try vae.decode(z), layout: .nhwc)
    }
}
