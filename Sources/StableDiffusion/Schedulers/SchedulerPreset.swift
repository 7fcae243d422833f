/// The sampler names users pick (`tomesd generate --scheduler NAME`), each a scheduler class plus the options
/// that make it that sampler. Everything else comes from the model's `scheduler_config.json`, as with
/// diffusers' `Kind.from_config(pipe.scheduler.config, **overrides)`.
public enum SchedulerPreset: String, CaseIterable, Sendable {
    /// PNDM (PLMS): Stable Diffusion 1.x's default.
    case pndm
    /// Deterministic DDIM.
    case ddim
    /// Euler, without Karras sigmas.
    case euler
    /// Euler ancestral (adds noise every step).
    case eulerAncestral = "euler-a"
    /// DPM-Solver++(2M).
    case dpmSolver2M = "dpm++2m"
    /// DPM-Solver++(2M) with Karras sigmas.
    case dpmSolver2MKarras = "dpm++2m-karras"

    /// The scheduler class.
    public var kind: SchedulerKind {
        switch self {
        case .pndm: return .pndm
        case .ddim: return .ddim
        case .euler: return .eulerDiscrete
        case .eulerAncestral: return .eulerAncestralDiscrete
        case .dpmSolver2M, .dpmSolver2MKarras: return .dpmSolverMultistep
        }
    }

    /// `config` with this sampler's options set (Karras sigmas on or off; DPM-Solver++ of order 2).
    public func configure(_ config: SchedulerConfig) -> SchedulerConfig {
        var config = config
        switch self {
        case .pndm, .ddim, .eulerAncestral: break
        case .euler: config.useKarrasSigmas = false
        case .dpmSolver2M, .dpmSolver2MKarras:
            config.algorithmType = "dpmsolver++"
            config.solverOrder = 2
            config.useKarrasSigmas = self == .dpmSolver2MKarras
        }
        return config
    }

    /// This sampler for `steps` steps on a model's scheduler configuration.
    /// - Throws: ``SchedulerError`` as the scheduler's initialiser does.
    public func make(config: SchedulerConfig, steps: Int) throws -> any Scheduler {
        try kind.make(config: configure(config), steps: steps)
    }
}
