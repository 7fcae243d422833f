import TensorCore

/// Time spent in each stage of a generation.
public struct StageTimings: Sendable {
    /// Tokenizing and encoding the prompts (including loading a released text encoder).
    public var textEncoding = StageTime()
    /// Image-to-image: encoding the init image with the VAE, sampling its latents and adding the noise (zero for
    /// text-to-image, whose noise draw counts as denoising).
    public var imageEncoding = StageTime()
    /// The denoising loop: every UNet call and scheduler step.
    public var denoising = StageTime()
    /// Decoding the latents into images.
    public var decoding = StageTime()
    /// UNet calls (the denoising loop's steps).
    public var unetSteps = 0
}

/// The time one stage took: wall-clock seconds, and CPU seconds of the whole process (all threads), which is the
/// steadier figure when other processes share the cores.
public struct StageTime: Sendable {
    /// Elapsed seconds.
    public var wall: Double = 0
    /// CPU seconds used by the process meanwhile.
    public var cpu: Double = 0
}

/// Measures a stage: started with ``init()``, read with ``elapsed``.
struct StageClock {
    private let wallStart = ProcessMetrics.now()
    private let cpuStart = ProcessMetrics.cpuSeconds()

    /// Wall and process CPU seconds since the clock started.
    var elapsed: StageTime {
        StageTime(wall: ProcessMetrics.seconds(since: wallStart), cpu: ProcessMetrics.cpuSeconds() - cpuStart)
    }
}
