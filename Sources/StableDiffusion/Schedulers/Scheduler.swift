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

/// The scheduler classes this package implements, by their diffusers `_class_name`.
public enum SchedulerKind: String, CaseIterable, Sendable {
    case pndm = "PNDMScheduler"
    case ddim = "DDIMScheduler"
    case eulerDiscrete = "EulerDiscreteScheduler"
    case eulerAncestralDiscrete = "EulerAncestralDiscreteScheduler"
    case dpmSolverMultistep = "DPMSolverMultistepScheduler"

    /// The diffusers class name.
    public var className: String { rawValue }

    /// The kind a config's `_class_name` names.
    /// - Throws: ``SchedulerError/unknownClass(_:)`` for a missing or unknown name.
    public init(config: SchedulerConfig) throws {
        guard let name = config.className, let kind = SchedulerKind(rawValue: name) else {
            throw SchedulerError.unknownClass(config.className ?? "(no _class_name)")
        }
        self = kind
    }

    /// A scheduler of this kind for `steps` inference steps.
    /// - Throws: ``SchedulerError`` for unsupported options or a step count outside 1...`num_train_timesteps`.
    public func make(config: SchedulerConfig, steps: Int) throws -> any Scheduler {
        switch self {
        case .pndm: return try PNDMScheduler(config: config, steps: steps)
        case .ddim: return try DDIMScheduler(config: config, steps: steps)
        case .eulerDiscrete: return try EulerDiscreteScheduler(config: config, steps: steps)
        case .eulerAncestralDiscrete: return try EulerAncestralDiscreteScheduler(config: config, steps: steps)
        case .dpmSolverMultistep: return try DPMSolverMultistepScheduler(config: config, steps: steps)
        }
    }
}

/// How inference timesteps are spread over the training timesteps (diffusers' `timestep_spacing`).
public enum TimestepSpacing: String, Sendable {
    /// Evenly spaced from 0 to the last training timestep, rounded.
    case linspace
    /// Multiples of `num_train_timesteps / steps` from 0, plus `steps_offset`.
    case leading
    /// Multiples of `num_train_timesteps / steps` counted down from the last training timestep.
    case trailing

    /// The config's spacing, or `fallback` when it has none.
    /// - Throws: ``SchedulerError/unsupportedOption(name:value:scheduler:)`` for another value.
    init(_ config: SchedulerConfig, default fallback: TimestepSpacing, scheduler: String) throws {
        guard let name = config.timestepSpacing else { self = fallback; return }
        guard let spacing = TimestepSpacing(rawValue: name) else {
            throw SchedulerError.unsupportedOption(name: "timestep_spacing", value: name, scheduler: scheduler)
        }
        self = spacing
    }
}

/// What the UNet predicts (diffusers' `prediction_type`).
enum PredictionType: String {
    /// The added noise ε (SD 1.x, SD 2 base).
    case epsilon
    /// v = √ᾱ·ε − √(1−ᾱ)·x₀ (SD 2 at 768²).
    case vPrediction = "v_prediction"

    /// The config's prediction type (default `epsilon`).
    /// - Throws: ``SchedulerError/unsupportedOption(name:value:scheduler:)`` for another value.
    init(_ config: SchedulerConfig, scheduler: String) throws {
        let name = config.predictionType ?? "epsilon"
        guard let type = PredictionType(rawValue: name) else {
            throw SchedulerError.unsupportedOption(name: "prediction_type", value: name, scheduler: scheduler)
        }
        self = type
    }
}

/// Shared argument checks.
enum SchedulerChecks {
    /// Throws unless `steps` is in 1...`trainTimesteps`.
    static func stepCount(_ steps: Int, trainTimesteps: Int) throws {
        guard steps >= 1, steps <= trainTimesteps else {
            throw SchedulerError.invalidStepCount(steps, trainTimesteps: trainTimesteps)
        }
    }

    /// Throws when an option that must keep its default is set to something else.
    static func requireDefault<Value: Equatable>(_ value: Value?, _ expected: Value, name: String, scheduler: String) throws {
        if let value, value != expected {
            throw SchedulerError.unsupportedOption(name: name, value: "\(value)", scheduler: scheduler)
        }
    }

    /// Throws when `stepIndex` is past the last timestep.
    static func stepIndex(_ index: Int, count: Int) throws {
        guard index < count else {
            throw SchedulerError.invalidStep("all \(count) steps were already taken")
        }
    }
}
