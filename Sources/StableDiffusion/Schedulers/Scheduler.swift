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
/// Every update is elementwise, so tensors may be in any layout as long as the model output and the sample
/// share it. Results match diffusers' schedulers on CPU within float32 rounding (1e-5 and better).
public protocol Scheduler: Sendable {
    /// The UNet timestep of each step, in order (one `step` call each). Integers for PNDM, DDIM and
    /// DPM-Solver; fractional for the Euler samplers.
    var timesteps: [Float] { get }
    /// The standard deviation of the initial noise: the pipeline scales unit-normal latents by it.
    var initNoiseSigma: Float { get }
    /// How many steps have been taken (the index into ``timesteps`` of the next one).
    var stepIndex: Int { get }
    /// The sample as the UNet should see it at the current step (Euler samplers divide by √(σ² + 1)).
    func scaleModelInput(_ sample: Tensor) -> Tensor
    /// One denoising step: the sample at the next timestep, given the model output at the current one.
    /// - Parameter noise: fresh noise for ancestral samplers (others never draw from it).
    /// - Throws: ``SchedulerError/invalidStep(_:)`` for mismatched shapes or a step past the last timestep;
    ///   whatever `noise` throws.
    mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor
}
