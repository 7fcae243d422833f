import Foundation
import TensorCore

/// diffusers' `DPMSolverMultistepScheduler` with `algorithm_type="dpmsolver++"`: DPM-Solver++(2M) (Lu et al.
/// 2022), "DPM++ 2M" in other UIs, and "DPM++ 2M Karras" with `use_karras_sigmas`.
///
/// Supports `solver_order` 1 and 2, `solver_type` `midpoint`/`heun`, `lower_order_final`, `euler_at_final`,
/// `final_sigmas_type` `zero`/`sigma_min`, `lambda_min_clipped`, every `timestep_spacing`,
/// `rescale_betas_zero_snr` and both prediction types. Rejected: other algorithm types (SDE and the deprecated
/// `dpmsolver`), third order, thresholding, learned variances, and the Lu/exponential/beta/flow sigma options.
public struct DPMSolverMultistepScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    public private(set) var stepIndex = 0
    private let sigmas: [Float]
    private let prediction: PredictionType
    private let order: Int
    private let usesHeun: Bool
    private let lowerOrderFinal: Bool
    private let eulerAtFinal: Bool
    private let finalSigmaIsZero: Bool
    /// The previous step's clean-sample estimate (the "M" of 2M).
    private var previousEstimate: Tensor?

    /// A scheduler for `steps` steps configured by `config` (class defaults for missing options).
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    public init(config: SchedulerConfig, steps: Int) throws {
        let name = SchedulerKind.dpmSolverMultistep.className
        let schedule = try NoiseSchedule(config: config, scheduler: name, pinsLastAlphaForZeroSNR: true)
        let count = schedule.count
        try SchedulerChecks.stepCount(steps, trainTimesteps: count)
        prediction = try PredictionType(config, scheduler: name)
        try SchedulerChecks.requireDefault(config.algorithmType, "dpmsolver++", name: "algorithm_type", scheduler: name)
        try SchedulerChecks.requireDefault(config.thresholding, false, name: "thresholding", scheduler: name)
        try SchedulerChecks.requireDefault(config.useLuLambdas, false, name: "use_lu_lambdas", scheduler: name)
        try SchedulerChecks.requireDefault(config.useExponentialSigmas, false, name: "use_exponential_sigmas", scheduler: name)
        try SchedulerChecks.requireDefault(config.useBetaSigmas, false, name: "use_beta_sigmas", scheduler: name)
        try SchedulerChecks.requireDefault(config.useFlowSigmas, false, name: "use_flow_sigmas", scheduler: name)
        try SchedulerChecks.requireDefault(config.useDynamicShifting, false, name: "use_dynamic_shifting", scheduler: name)
        if let variance = config.varianceType {
            throw SchedulerError.unsupportedOption(name: "variance_type", value: variance, scheduler: name)
        }
        order = config.solverOrder ?? 2
        guard order == 1 || order == 2 else {
            throw SchedulerError.unsupportedOption(name: "solver_order", value: "\(order)", scheduler: name)
        }
        switch config.solverType ?? "midpoint" {
        case "midpoint": usesHeun = false
        case "heun": usesHeun = true
        case let other: throw SchedulerError.unsupportedOption(name: "solver_type", value: other, scheduler: name)
        }
        lowerOrderFinal = config.lowerOrderFinal ?? true
        eulerAtFinal = config.eulerAtFinal ?? false

        // The last usable training timestep: those with log-SNR below lambda_min_clipped are dropped.
        let lambdas = schedule.alphasCumprod.map { Foundation.log($0.squareRoot()) - Foundation.log((1 - $0).squareRoot()) }
        let clipped = lambdas.reversed().firstIndex { $0 >= Float(config.lambdaMinClipped ?? -.infinity) } ?? count
        let last = count - clipped
        var ids: [Double]
        switch try TimestepSpacing(config, default: .linspace, scheduler: name) {
        case .linspace: ids = ScheduleMath.linspace(0, Double(last - 1), steps + 1).map(ScheduleMath.round).reversed().dropLast()
        case .leading:
            let ratio = Double(last / (steps + 1))
            ids = (0...steps).map { Double($0) * ratio }.reversed().dropLast().map { $0 + Double(config.stepsOffset ?? 0) }
        case .trailing:
            ids = ScheduleMath.arange(Double(last), 0, -Double(count) / Double(steps)).map { ScheduleMath.round($0) - 1 }
        }
        let trainingSigmas = schedule.sigmas
        var stepSigmas: [Double]
        if config.useKarrasSigmas ?? false {
            stepSigmas = ScheduleMath.karrasSigmas(sigmaMin: Double(trainingSigmas[0]), sigmaMax: Double(trainingSigmas[count - 1]), count: steps)
            let logSigmas = trainingSigmas.map { Foundation.log($0) }
            ids = stepSigmas.map { ScheduleMath.timestep(forSigma: $0, logSigmas: logSigmas) }
            if config.betaSchedule != "squaredcos_cap_v2" { ids = ids.map(ScheduleMath.round) }
        } else {
            stepSigmas = ids.map { ScheduleMath.interpolate($0, in: trainingSigmas) }
        }
        switch config.finalSigmasType ?? "zero" {
        case "zero": stepSigmas.append(0); finalSigmaIsZero = true
        case "sigma_min":
            stepSigmas.append(Double(((1 - schedule.alphasCumprod[0]) / schedule.alphasCumprod[0]).squareRoot()))
            finalSigmaIsZero = false
        case let other: throw SchedulerError.unsupportedOption(name: "final_sigmas_type", value: other, scheduler: name)
        }
        sigmas = stepSigmas.map { Float($0) }
        guard ids.allSatisfy(\.isFinite) else {
            throw SchedulerError.unsupportedOption(name: "the noise schedule", value: "timesteps \(ids)", scheduler: name)
        }
        timesteps = ids.map { Float(Int($0)) }  // int64 in diffusers
    }

    public func scaleModelInput(_ sample: Tensor) -> Tensor { sample }

    public mutating func setBeginIndex(_ index: Int) throws {
        try SchedulerChecks.beginIndex(index, count: timesteps.count)
        stepIndex = index
    }

    /// `α_t · original + σ_t · noise` with α_t and σ_t of the next step's σ (diffusers' `add_noise`).
    public func addNoise(to original: Tensor, noise: Tensor) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: timesteps.count)
        let (alpha, sigma, _) = coefficients(stepIndex)
        return try Elementwise.map(original, noise) { alpha * $0 + sigma * $1 }
    }

    public mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: timesteps.count)
        let isLast = stepIndex == timesteps.count - 1
        let firstOrderAtEnd = isLast && (eulerAtFinal || (lowerOrderFinal && timesteps.count < 15) || finalSigmaIsZero)
        let estimate = try cleanSampleEstimate(modelOutput, sample: sample)
        let result: Tensor
        // The first step taken is first order (diffusers' `lower_order_nums < 1`), whatever the begin index.
        if order == 1 || previousEstimate == nil || firstOrderAtEnd {
            result = try firstOrderUpdate(estimate, sample: sample)
        } else {
            result = try secondOrderUpdate(estimate, previous: previousEstimate ?? estimate, sample: sample)
        }
        previousEstimate = estimate
        stepIndex += 1
        return result
    }

    /// α_t = 1/√(σ² + 1), σ_t = σ·α_t and the log-SNR λ = log α_t − log σ_t of a step's σ.
    private func coefficients(_ index: Int) -> (alpha: Float, sigma: Float, lambda: Float) {
        let alpha = 1 / (sigmas[index] * sigmas[index] + 1).squareRoot()
        let sigma = sigmas[index] * alpha
        return (alpha, sigma, Foundation.log(alpha) - Foundation.log(sigma))
    }

    /// diffusers' `convert_model_output` for dpmsolver++: the clean-sample estimate x₀.
    private func cleanSampleEstimate(_ output: Tensor, sample: Tensor) throws -> Tensor {
        let (alpha, sigma, _) = coefficients(stepIndex)
        switch prediction {
        case .epsilon: return try Elementwise.map(sample, output) { ($0 - sigma * $1) / alpha }
        case .vPrediction: return try Elementwise.map(sample, output) { alpha * $0 - sigma * $1 }
        }
    }

    /// DPM-Solver++ first order (DDIM in x₀ form).
    private func firstOrderUpdate(_ estimate: Tensor, sample: Tensor) throws -> Tensor {
        let target = coefficients(stepIndex + 1), source = coefficients(stepIndex)
        let h = target.lambda - source.lambda
        let sampleScale = target.sigma / source.sigma
        let estimateScale = target.alpha * (Foundation.exp(-h) - 1)
        return try Elementwise.map(sample, estimate) { sampleScale * $0 - estimateScale * $1 }
    }

    /// DPM-Solver++(2M): the current and previous estimates, midpoint or Heun form.
    private func secondOrderUpdate(_ estimate: Tensor, previous: Tensor, sample: Tensor) throws -> Tensor {
        let target = coefficients(stepIndex + 1), s0 = coefficients(stepIndex), s1 = coefficients(stepIndex - 1)
        let h = target.lambda - s0.lambda, h0 = s0.lambda - s1.lambda
        let inverseRatio = 1 / (h0 / h)
        let sampleScale = target.sigma / s0.sigma
        let estimateScale = target.alpha * (Foundation.exp(-h) - 1)
        let differenceScale = usesHeun ? target.alpha * ((Foundation.exp(-h) - 1) / h + 1) : 0.5 * estimateScale
        let difference = try Elementwise.map(estimate, previous) { inverseRatio * ($0 - $1) }
        return try Elementwise.map(sample, estimate, difference) { x, d0, d1 in
            let base = sampleScale * x - estimateScale * d0
            return usesHeun ? base + differenceScale * d1 : base - differenceScale * d1
        }
    }
}
