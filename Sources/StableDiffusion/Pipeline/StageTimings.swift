/// Seconds spent in each stage of a generation.
public struct StageTimings: Sendable {
    /// Tokenizing and encoding the prompts (including loading a released text encoder).
    public var textEncoding: Double = 0
    /// The denoising loop: every UNet call and scheduler step.
    public var denoising: Double = 0
    /// Decoding the latents into images.
    public var decoding: Double = 0
    /// UNet calls (the denoising loop's steps).
    public var unetSteps = 0
}
