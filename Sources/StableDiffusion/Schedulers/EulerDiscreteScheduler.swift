import TensorCore

/// diffusers' `EulerDiscreteScheduler` (Karras et al. 2022, Algorithm 2, with `s_churn = 0`: deterministic).
///
/// Supports `use_karras_sigmas` (with `sigma_min`/`sigma_max`), `final_sigmas_type` `zero`/`sigma_min`, every
/// `timestep_spacing`, `rescale_betas_zero_snr` and both prediction types. Rejected: `interpolation_type`
/// `log_linear`, exponential or beta sigmas, `timestep_type` `continuous`.
public struct EulerDiscreteScheduler: EulerScheduler {
    public private(set) var stepIndex = 0
    let schedule: EulerSchedule

    /// A scheduler for `steps` steps configured by `config` (class defaults for missing options).
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    public init(config: SchedulerConfig, steps: Int) throws {
        schedule = try EulerSchedule(config: config, steps: steps, kind: .eulerDiscrete, allowsKarras: true)
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try SchedulerChecks.beginIndex(index, count: timesteps.count)
        stepIndex = index
    }

    public mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: timesteps.count)
        let sigma = schedule.sigmas[stepIndex]
        let dt = schedule.sigmas[stepIndex + 1] - sigma
        let denoise = OriginalSampleEstimate(prediction: schedule.prediction, sigma: sigma)
        let result = try Elementwise.map(sample, modelOutput) { x, output in
            let derivative = (x - denoise(x, output)) / sigma
            return x + derivative * dt
        }
        stepIndex += 1
        return result
    }
}
