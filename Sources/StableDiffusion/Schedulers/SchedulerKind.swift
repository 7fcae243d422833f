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
