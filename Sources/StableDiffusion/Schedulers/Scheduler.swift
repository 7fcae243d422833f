import TensorCore

/// A diffusion sampler: the timesteps to call the UNet at, and the update from one noisy sample to the next.
///
/// A scheduler is made for one generation (the number of steps is fixed at creation, like diffusers'
/// `set_timesteps`) and is a value that remembers past model outputs. The pipeline's loop:
///
/// ```swift
/// var latents = noise * scheduler.initNoiseSigma
/// for t in scheduler.timesteps {
///     let output = unet(scheduler.scaleModelInput(latents), t)
///     latents = try scheduler.step(modelOutput: output, sample: latents, noise: &generator)
/// }
/// ```
///
/// Image-to-image starts part-way down the schedule: ``setBeginIndex(_:)`` skips the noisiest steps and
/// ``addNoise(to:noise:)`` noises the encoded image to the level of the first step taken (diffusers'
/// `set_begin_index` and `add_noise`).
///
/// Every update is elementwise, so tensors may be in any layout as long as the model output and the sample
/// share it. Results match diffusers' schedulers on CPU within float32 rounding (1e-5 and better).
public protocol Scheduler: Sendable {
    /// The UNet timestep of each step, in order (one `step` call each). Integers for PNDM, DDIM and
    /// DPM-Solver; fractional for the Euler samplers.
    var timesteps: [Float] { get }
    /// The standard deviation of the initial noise: the pipeline scales unit-normal latents by it.
    var initNoiseSigma: Float { get }
    /// The index into ``timesteps`` of the next step: the begin index (0 unless ``setBeginIndex(_:)`` moved it)
    /// plus the steps taken.
    var stepIndex: Int { get }
    /// Begins the schedule at step `index` of ``timesteps`` instead of 0 (diffusers' `set_begin_index`, which
    /// image-to-image uses to skip the first steps). Call it before the first ``step(modelOutput:sample:noise:)``.
    /// - Throws: ``SchedulerError/invalidStep(_:)`` unless `index` is in `0 ..< timesteps.count`.
    mutating func setBeginIndex(_ index: Int) throws
    /// `original` with `noise` added at the noise level of the next step (``stepIndex``), as diffusers'
    /// `add_noise` at that step's timestep: `√ᾱ · x + √(1 − ᾱ) · n` for PNDM and DDIM, `x + σ · n` for the Euler
    /// samplers, `α_σ · x + σ_σ · n` for DPM-Solver.
    /// - Throws: ``SchedulerError/invalidStep(_:)`` when the shapes differ.
    func addNoise(to original: Tensor, noise: Tensor) throws -> Tensor
    /// The sample as the UNet should see it at the current step (Euler samplers divide by √(σ² + 1)).
    func scaleModelInput(_ sample: Tensor) -> Tensor
    /// One denoising step: the sample at the next timestep, given the model output at the current one.
    /// - Parameter noise: fresh noise for ancestral samplers (others never draw from it).
    /// - Throws: ``SchedulerError/invalidStep(_:)`` for mismatched shapes or a step past the last timestep;
    ///   whatever `noise` throws.
    mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor
}
