import TensorCore

/// diffusers' `EulerAncestralDiscreteScheduler`: an Euler step down to σ_down, then fresh noise of scale σ_up
/// (drawn from the `noise` source each step, shaped like the model output, as diffusers draws it from the
/// pipeline's generator).
///
/// Supports every `timestep_spacing`, `rescale_betas_zero_snr` and both prediction types.
public struct EulerAncestralDiscreteScheduler: EulerScheduler {
    public private(set) var stepIndex = 0
    let schedule: EulerSchedule

    /// A scheduler for `steps` steps configured by `config` (class defaults for missing options).
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    public init(config: SchedulerConfig, steps: Int) throws {
        schedule = try EulerSchedule(config: config, steps: steps, kind: .eulerAncestralDiscrete, allowsKarras: false)
    }

    public mutating func setBeginIndex(_ index: Int) throws {
        try SchedulerChecks.beginIndex(index, count: timesteps.count)
        stepIndex = index
    }

    public mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: timesteps.count)
        try Elementwise.checkShapes(sample, modelOutput)
        let from = schedule.sigmas[stepIndex], to = schedule.sigmas[stepIndex + 1]
        let up = (to * to * (from * from - to * to) / (from * from)).squareRoot()
        let down = (to * to - up * up).squareRoot()
        let dt = down - from
        let denoise = OriginalSampleEstimate(prediction: schedule.prediction, sigma: from)
        let fresh = try noise.standardNormal(shape: modelOutput.shape)
        let result = try Elementwise.map(sample, modelOutput, fresh) { x, output, z in
            let derivative = (x - denoise(x, output)) / from
            return (x + derivative * dt) + z * up
        }
        stepIndex += 1
        return result
    }
}
