import ImageFiles
import TensorCore

extension StableDiffusionPipeline {
    /// Image-to-image (diffusers' `StableDiffusionImg2ImgPipeline`): ``generate(_:progress:)`` starting from `image`
    /// instead of pure noise, with each parameter of ``GenerationConfiguration`` spelled out. The images have
    /// `image`'s size (width and height multiples of 8); `strength` in (0, 1] says how much of it to repaint: the
    /// last `⌊steps · strength⌋` steps run.
    ///
    /// ```swift
    /// let start = try RGBImage(contentsOfPNG: URL(fileURLWithPath: "sketch.png"))
    /// let result = try pipeline.generate(prompt: "a watercolor of a lighthouse", image: start, strength: 0.75, seed: 1)
    /// ```
    /// - Throws: as ``generate(_:progress:)``.
    public func generate(prompt: String, image: RGBImage, strength: Double = 0.8, negativePrompt: String? = nil,
                         steps: Int = 50, guidanceScale: Float = 7.5, seed: UInt64 = 0, scheduler: SchedulerPreset? = nil,
                         imagesPerPrompt: Int = 1,
                         progress: ((GenerationProgress) -> ProgressAction)? = nil) throws -> GenerationResult {
        var configuration = GenerationConfiguration(prompt: prompt)
        configuration.initImage = image
        configuration.strength = strength
        configuration.negativePrompt = negativePrompt
        configuration.steps = steps
        configuration.guidanceScale = guidanceScale
        configuration.seed = seed
        configuration.scheduler = scheduler
        configuration.imagesPerPrompt = imagesPerPrompt
        return try generate(configuration, progress: progress)
    }
}
