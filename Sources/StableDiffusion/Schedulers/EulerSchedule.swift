import Foundation
import TensorCore

/// What diffusers' two Euler samplers (`EulerDiscreteScheduler`, `EulerAncestralDiscreteScheduler`) share: the
/// checks of their options, the prediction type, fractional timesteps, σ interpolated from the training schedule
/// (or Karras σ mapped back to timesteps), a final σ of 0 or σ_min, and the input scaling.
struct EulerSchedule {
    /// The UNet timestep of each step.
    let timesteps: [Float]
    /// σ of each step plus the final one (`timesteps.count + 1` values).
    let sigmas: [Float]
    /// The initial noise scale: σ_max for `linspace`/`trailing` spacing, √(σ_max² + 1) for `leading`.
    let initNoiseSigma: Float
    /// What the model predicts.
    let prediction: PredictionType

    /// The schedule of `kind` for `steps` steps configured by `config`; options are checked in diffusers' order
    /// (the training schedule, the step count, the prediction type, then the sampler's own).
    /// - Parameters:
    ///   - allowsKarras: whether the class has `use_karras_sigmas` and `final_sigmas_type` (Euler does,
    ///     Euler ancestral does not, and ignores them).
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    init(config: SchedulerConfig, steps: Int, kind: SchedulerKind, allowsKarras: Bool) throws {
        let scheduler = kind.className
        let schedule = try NoiseSchedule(config: config, scheduler: scheduler, pinsLastAlphaForZeroSNR: true)
        try SchedulerChecks.stepCount(steps, trainTimesteps: schedule.count)
        prediction = try PredictionType(config, scheduler: scheduler)
        let count = schedule.count
        let spacing = try TimestepSpacing(config, default: .linspace, scheduler: scheduler)
        var steps64: [Double]
        switch spacing {
        case .linspace: steps64 = ScheduleMath.linspace(0, Double(count - 1), steps).reversed()
        case .leading:
            steps64 = (0..<steps).map { Double($0 * (count / steps)) }.reversed().map { $0 + Double(config.stepsOffset ?? 0) }
        case .trailing:
            steps64 = ScheduleMath.arange(Double(count), 0, -Double(count) / Double(steps)).map { ScheduleMath.round($0) - 1 }
        }
        var timesteps = steps64.map { Float($0) }  // NumPy casts the spacing to float32 first
        let trainingSigmas = schedule.sigmas
        var sigmas = timesteps.map { ScheduleMath.interpolate(Double($0), in: trainingSigmas) }
        var finalSigma = 0.0
        if allowsKarras {
            try SchedulerChecks.requireDefault(config.interpolationType, "linear", name: "interpolation_type", scheduler: scheduler)
            try SchedulerChecks.requireDefault(config.timestepType, "discrete", name: "timestep_type", scheduler: scheduler)
            try SchedulerChecks.requireDefault(config.useExponentialSigmas, false, name: "use_exponential_sigmas", scheduler: scheduler)
            try SchedulerChecks.requireDefault(config.useBetaSigmas, false, name: "use_beta_sigmas", scheduler: scheduler)
            if config.useKarrasSigmas ?? false {
                sigmas = ScheduleMath.karrasSigmas(sigmaMin: config.sigmaMin ?? sigmas[sigmas.count - 1],
                                                   sigmaMax: config.sigmaMax ?? sigmas[0], count: steps)
                let logSigmas = trainingSigmas.map { Foundation.log($0) }
                timesteps = sigmas.map { Float(ScheduleMath.timestep(forSigma: $0, logSigmas: logSigmas)) }
            }
            switch config.finalSigmasType ?? "zero" {
            case "zero": finalSigma = 0
            case "sigma_min": finalSigma = Double(((1 - schedule.alphasCumprod[0]) / schedule.alphasCumprod[0]).squareRoot())
            case let other: throw SchedulerError.unsupportedOption(name: "final_sigmas_type", value: other, scheduler: scheduler)
            }
        }
        self.timesteps = timesteps
        self.sigmas = (sigmas + [finalSigma]).map { Float($0) }
        let maximum = self.sigmas.max() ?? 0
        initNoiseSigma = spacing == .leading ? (maximum * maximum + 1).squareRoot() : maximum
    }
}
