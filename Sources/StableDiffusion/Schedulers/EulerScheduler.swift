import TensorCore

/// What diffusers' two Euler schedulers share: they answer ``Scheduler``'s timesteps, initial noise scale and
/// input scaling and noise addition from one ``EulerSchedule``.
protocol EulerScheduler: Scheduler {
    /// The schedule made from the scheduler's config.
    var schedule: EulerSchedule { get }
}

extension EulerScheduler {
    public var timesteps: [Float] { schedule.timesteps }
    public var initNoiseSigma: Float { schedule.initNoiseSigma }

    /// `sample / sqrt(σ² + 1)` at the current step (the last σ once past the end): the Euler schedulers' input
    /// scaling.
    public func scaleModelInput(_ sample: Tensor) -> Tensor {
        let sigmas = schedule.sigmas
        let sigma = sigmas[min(stepIndex, sigmas.count - 1)]
        let scale = (sigma * sigma + 1).squareRoot()
        return Elementwise.map(sample) { $0 / scale }
    }

    /// `original + noise · σ` with σ of the next step: the Euler samplers' `add_noise`.
    public func addNoise(to original: Tensor, noise: Tensor) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: timesteps.count)
        let sigma = schedule.sigmas[stepIndex]
        return try Elementwise.map(original, noise) { $0 + $1 * sigma }
    }
}
