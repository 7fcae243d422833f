import TensorCore

extension StableDiffusionXLPipeline {
    /// Generates an image for `configuration`, as diffusers' `StableDiffusionXLPipeline.__call__` with
    /// `generator=torch.Generator().manual_seed(seed)` and the default size conditioning (see the type's
    /// documentation for how prompts are encoded; the rest is ``StableDiffusionPipeline/generate(_:progress:)``'s).
    /// - Throws: as ``StableDiffusionPipeline/generate(_:progress:)``.
    public func generate(_ configuration: GenerationConfiguration,
                         progress: ((GenerationProgress) -> ProgressAction)? = nil) throws -> GenerationResult {
        try validate(configuration)
        return try stages.generate(configuration, progress: progress) { try encodePrompts(configuration) }
    }

    /// The shape of the latents for `batch` images of `width` × `height`:
    /// `[batch, latent_channels, height / s, width / s]`.
    public func latentShape(width: Int, height: Int, batch: Int = 1) -> [Int] {
        stages.latentShape(width: width, height: height, batch: batch)
    }

    /// Checks `configuration` (``GenerationConfiguration/validate()``) and that its initial latents fit this
    /// pipeline, as for SD.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the parameter.
    public func validate(_ configuration: GenerationConfiguration) throws {
        try stages.validate(configuration)
    }

    /// Both encoders' penultimate hidden states joined on the channel axis, the pooled `text_embeds` and the time
    /// ids, for the prompt and (with guidance) the unconditional item first; then drops the encoders when
    /// ``releasesTextEncoderAfterUse`` asks.
    func encodePrompts(_ configuration: GenerationConfiguration) throws -> EncodedPrompts {
        let guided = configuration.usesGuidance
        let zeroNegative = guided && configuration.negativePrompt == nil && forceZerosForEmptyPrompt
        let encodedNegative = guided && !zeroNegative
        let negativeText = configuration.negativePrompt ?? ""
        let prompt = (tokenizer.encode(configuration.prompt), tokenizer2.encode(configuration.prompt))
        let negative = encodedNegative ? (tokenizer.encode(negativeText), tokenizer2.encode(negativeText)) : nil

        let encoders = try textEncoders.get(name: "text encoders")
        let firstIDs = (negative.map { [$0.0.ids] } ?? []) + [prompt.0.ids]
        let secondIDs = (negative.map { [$0.1.ids] } ?? []) + [prompt.1.ids]
        let first = try encoders.first.hiddenStates(firstIDs).penultimate
        let second = try encoders.second(secondIDs)
        textEncoders.release(if: releasesTextEncoderAfterUse)

        var embeddings = try Tensor.concatenated([first, second.penultimate], axis: 2)
        var textEmbeds = second.textEmbeds
        if zeroNegative {
            embeddings = try Tensor.concatenated([Tensor(zeros: embeddings.shape), embeddings], axis: 0)
            textEmbeds = try Tensor.concatenated([Tensor(zeros: textEmbeds.shape), textEmbeds], axis: 0)
        }
        return EncodedPrompts(
            embeddings: embeddings,
            textTime: try TextTimeConditioning(textEmbeds: textEmbeds, imageWidth: configuration.imageSize.width,
                                               imageHeight: configuration.imageSize.height),
            guided: guided, truncatedPrompt: tokenizer.truncatedText(prompt.0),
            truncatedNegativePrompt: negative.flatMap { tokenizer.truncatedText($0.0) })
    }
}
