import TensorCore

/// diffusers' `PNDMScheduler` (pseudo numerical methods, Liu et al. 2022): Stable Diffusion 1.x's default.
///
/// With `skip_prk_steps` (SD's setting) every step is a linear multistep (PLMS) update of up to fourth order;
/// without it, the first steps are Runge–Kutta (PRK) steps on a denser timestep grid, as diffusers does.
/// Supports every `timestep_spacing`, `steps_offset`, `set_alpha_to_one` and both prediction types.
public struct PNDMScheduler: Scheduler {
    public let timesteps: [Float]
    public let initNoiseSigma: Float = 1
    public var stepIndex: Int { beginIndex + counter }
    /// The timestep index of the first step (``setBeginIndex(_:)``).
    private var beginIndex = 0
    private let trainTimesteps: [Int]
    /// How many leading entries of `trainTimesteps` are Runge–Kutta steps (0 with `skip_prk_steps`).
    private let rungeKuttaCount: Int
    private let alphasCumprod: [Float]
    private let finalAlphaCumprod: Float
    /// `num_train_timesteps // steps`.
    private let stride: Int
    private let prediction: PredictionType
    private let skipsRungeKutta: Bool

    /// Steps taken so far (diffusers' `counter`, which counts from 0 whatever the begin index).
    private var counter = 0
    /// Past model outputs (diffusers' `ets`), oldest first.
    private var history: [Tensor] = []
    /// The sample saved by the first PLMS step (and by each Runge–Kutta group) for the next update.
    private var savedSample: Tensor?
    /// The Runge–Kutta weighted sum of model outputs so far in the current group of four.
    private var rungeKuttaSum: Tensor?

    /// A scheduler for `steps` steps configured by `config` (class defaults for missing options).
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    public init(config: SchedulerConfig, steps: Int) throws {
        let name = SchedulerKind.pndm.className
        let schedule = try NoiseSchedule(config: config, scheduler: name, pinsLastAlphaForZeroSNR: false)
        let count = schedule.count, offset = config.stepsOffset ?? 0
        try SchedulerChecks.stepCount(steps, trainTimesteps: count)
        prediction = try PredictionType(config, scheduler: name)
        var ascending: [Int]
        switch try TimestepSpacing(config, default: .leading, scheduler: name) {
        case .linspace: ascending = ScheduleMath.linspace(0, Double(count - 1), steps).map { Int(ScheduleMath.round($0)) }
        case .leading: ascending = (0..<steps).map { $0 * (count / steps) + offset }
        case .trailing:
            ascending = ScheduleMath.arange(Double(count), 0, -Double(count) / Double(steps)).map { Int(ScheduleMath.round($0)) - 1 }.reversed()
        }
        if let bad = ascending.first(where: { $0 < 0 || $0 >= count }) {
            throw SchedulerError.unsupportedOption(name: "steps_offset", value: "\(offset) (timestep \(bad) is outside 0..<\(count))", scheduler: name)
        }
        skipsRungeKutta = config.skipPrkSteps ?? false
        let rungeKutta: [Int], multistep: [Int]
        if skipsRungeKutta {
            // The second-to-last timestep twice: the second PLMS step re-evaluates it (a Heun-like start).
            rungeKutta = []
            let secondToLast = ascending.count >= 2 ? [ascending[ascending.count - 2]] : []
            multistep = (ascending.dropLast() + secondToLast + ascending.suffix(1)).reversed()
        } else {
            // Each of the last four timesteps and its midpoint, doubled up as the PRK stages use them.
            let half = count / steps / 2
            let pairs = ascending.suffix(4).flatMap { [$0, $0 + half] }
            let stages = pairs.dropLast().flatMap { [$0, $0] }
            rungeKutta = Array(stages.dropFirst().dropLast()).reversed()
            multistep = ascending.dropLast(3).reversed()
        }
        rungeKuttaCount = rungeKutta.count
        trainTimesteps = rungeKutta + multistep
        timesteps = trainTimesteps.map { Float($0) }
        alphasCumprod = schedule.alphasCumprod
        finalAlphaCumprod = config.setAlphaToOne ?? false ? 1 : schedule.alphasCumprod[0]
        stride = count / steps
    }

    public func scaleModelInput(_ sample: Tensor) -> Tensor { sample }

    public mutating func setBeginIndex(_ index: Int) throws {
        try SchedulerChecks.beginIndex(index, count: trainTimesteps.count)
        beginIndex = index
    }

    public func addNoise(to original: Tensor, noise: Tensor) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: trainTimesteps.count)
        return try NoiseSchedule.addNoise(to: original, noise: noise, alphaCumprod: alphasCumprod[trainTimesteps[stepIndex]])
    }

    public mutating func step<Noise: NoiseSource>(modelOutput: Tensor, sample: Tensor, noise: inout Noise) throws -> Tensor {
        try SchedulerChecks.stepIndex(stepIndex, count: trainTimesteps.count)
        try Elementwise.checkShapes(sample, modelOutput)
        let result = counter < rungeKuttaCount
            ? try rungeKuttaStep(modelOutput, sample: sample)
            : try multistepStep(modelOutput, sample: sample)
        counter += 1
        return result
    }

    /// diffusers' `step_prk`: four stages per timestep, weights 1/6, 1/3, 1/3, 1/6.
    private mutating func rungeKuttaStep(_ output: Tensor, sample: Tensor) throws -> Tensor {
        let half = stride / 2
        let t = trainTimesteps[stepIndex]
        let previous = t - (counter % 2 == 1 ? 0 : half)
        let groupTimestep = trainTimesteps[counter / 4 * 4]
        var update = output
        switch counter % 4 {
        case 0:
            rungeKuttaSum = Elementwise.map(output) { Float(1.0 / 6.0) * $0 }
            history.append(output)
            savedSample = sample
        case 1, 2:
            rungeKuttaSum = try Elementwise.map(rungeKuttaSum ?? output, output) { $0 + Float(1.0 / 3.0) * $1 }
        default:
            update = try Elementwise.map(rungeKuttaSum ?? output, output) { $0 + Float(1.0 / 6.0) * $1 }
            rungeKuttaSum = nil
        }
        return try previousSample(savedSample ?? sample, from: groupTimestep, to: previous, output: update)
    }

    /// diffusers' `step_plms`: Adams–Bashforth combinations of the last one to four model outputs.
    private mutating func multistepStep(_ output: Tensor, sample: Tensor) throws -> Tensor {
        var t = trainTimesteps[stepIndex], previous = t - stride
        var sample = sample
        if counter != 1 {
            history = Array(history.suffix(3)) + [output]
        } else {
            previous = t
            t += stride
        }
        let e = history.reversed().map { $0 }  // e[0] newest
        let update: Tensor
        if history.count == 1 && counter == 0 {
            update = output
            savedSample = sample
        } else if history.count == 1 && counter == 1 {
            update = try Elementwise.map(output, e[0]) { ($0 + $1) / 2 }
            sample = savedSample ?? sample
            savedSample = nil
        } else if history.count == 2 {
            update = try Elementwise.map(e[0], e[1]) { (3 * $0 - $1) / 2 }
        } else if history.count == 3 {
            update = try Elementwise.map(e[0], e[1], e[2]) { (23 * $0 - 16 * $1 + 5 * $2) / 12 }
        } else {
            let newer = try Elementwise.map(e[0], e[1], e[2]) { 55 * $0 - 59 * $1 + 37 * $2 }
            update = try Elementwise.map(newer, e[3]) { Float(1.0 / 24.0) * ($0 - 9 * $1) }
        }
        return try previousSample(sample, from: t, to: previous, output: update)
    }

    /// diffusers' `_get_prev_sample` (formula (9) of the PNDM paper).
    private func previousSample(_ sample: Tensor, from t: Int, to previous: Int, output: Tensor) throws -> Tensor {
        guard t < alphasCumprod.count else { throw SchedulerError.invalidStep("timestep \(t) is outside the training schedule") }
        let alpha = alphasCumprod[t]
        let alphaPrevious = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let beta = 1 - alpha, betaPrevious = 1 - alphaPrevious
        let (rootAlpha, rootBeta) = (alpha.squareRoot(), beta.squareRoot())
        let sampleScale = (alphaPrevious / alpha).squareRoot()
        let denominator = alpha * betaPrevious.squareRoot() + (alpha * beta * alphaPrevious).squareRoot()
        let difference = alphaPrevious - alpha
        return try Elementwise.map(sample, output) { x, output in
            let epsilon = prediction == .epsilon ? output : rootAlpha * output + rootBeta * x
            return sampleScale * x - difference * epsilon / denominator
        }
    }
}
