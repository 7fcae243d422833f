import TensorCore

/// diffusers' `DDIMScheduler` with `eta = 0` (deterministic DDIM, what `StableDiffusionPipeline` runs).
///
/// Supports `clip_sample` (with `clip_sample_range`), `set_alpha_to_one`, `rescale_betas_zero_snr`, every
/// `timestep_spacing` and both prediction types; `thresholding` is rejected.
public struct DDIMScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    public private(set) var stepIndex = 0
    private let trainTimesteps: [Int]
    private let alphasCumprod: [Float]
    /// ᾱ used after the last training timestep.
    private let finalAlphaCumprod: Float
    /// `num_train_timesteps // steps`: how far back each step looks, whatever the spacing.
    private let stride: Int
    private let prediction: PredictionType
    private let clipRange: Float?

    /// A scheduler for `steps` steps configured by `config` (class defaults for missing options).
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    public init(config: SchedulerConfig, steps: Int) throws {
        let name = SchedulerKind.ddim.className
        let schedule = try NoiseSchedule(config: config, scheduler: name, pinsLastAlphaForZeroSNR: false)
        try SchedulerChecks.stepCount(steps, trainTimesteps: schedule.count)
        try SchedulerChecks.requireDefault(config.thresholding, false, name: "thresholding", scheduler: name)
        prediction = try PredictionType(config, scheduler: name)
        let count = schedule.count, offset = config.stepsOffset ?? 0
        var ids: [Int]
        switch try TimestepSpacing(config, default: .leading, scheduler: name) {
        case .linspace:
            ids = ScheduleMath.linspace(0, Double(count - 1), steps).map { Int(ScheduleMath.round($0)) }.reversed()
        case .leading:
            ids = (0..<steps).map { $0 * (count / steps) + offset }.reversed()
        case .trailing:
            ids = ScheduleMath.arange(Double(count), 0, -Double(count) / Double(steps)).map { Int(ScheduleMath.round($0)) - 1 }
        }
        if let bad = ids.first(where: { $0 < 0 || $0 >= count }) {
            throw SchedulerError.unsupportedOption(name: "steps_offset", value: "\(offset) (timestep \(bad) is outside 0..<\(count))", scheduler: name)
        }
        trainTimesteps = ids
        timesteps = ids.map { Float($0) }
        alphasCumprod = schedule.alphasCumprod
        finalAlphaCumprod = config.setAlphaToOne ?? true ? 1 : schedule.alphasCumprod[0]
        stride = count / steps
        clipRange = config.clipSample ?? true ? Float(config.clipSampleRange ?? 1) : nil
    }

    public func scaleModelInput(_ sample: Tensor) -> Tensor { sample }

    public mutating func setBeginIndex(_ index: Int) throws {
        try SchedulerChecks.beginIndex(index, count: trainTimesteps.count)
        stepIndex = index
    }

    public func addNoise(to original: Tensor, noise: Tensor) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: trainTimesteps.count)
        return try NoiseSchedule.addNoise(to: original, noise: noise, alphaCumprod: alphasCumprod[trainTimesteps[stepIndex]])
    }

    public mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: trainTimesteps.count)
        let t = trainTimesteps[stepIndex], previous = t - stride
        let alpha = alphasCumprod[t]
        let alphaPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let beta = 1 - alpha
        let (rootAlpha, rootBeta) = (alpha.squareRoot(), beta.squareRoot())
        let directionScale = (1 - alphaPrevious).squareRoot()  // (1 - ᾱ_prev - σ²)^½ with σ = 0 (eta = 0)
        let rootAlphaPrevious = alphaPrevious.squareRoot()
        let result = try Elementwise.map(sample, modelOutput) { x, output in
            var original: Float, epsilon: Float
            switch prediction {
            case .epsilon:
                original = (x - rootBeta * output) / rootAlpha
                epsilon = output
            case .vPrediction:
                original = rootAlpha * x - rootBeta * output
                epsilon = rootAlpha * output + rootBeta * x
            }
            if let range = clipRange { original = min(max(original, -range), range) }
            return rootAlphaPrevious * original + directionScale * epsilon
        }
        stepIndex += 1
        return result
    }
}
