/// Errors configuring or running a scheduler. Each message names the option, file or argument at fault.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// `scheduler_config.json` is missing, unreadable or not valid JSON of the expected types.
    case invalidConfig(source: String, reason: String)
    /// `_class_name` names a scheduler this package does not implement.
    case unknownClass(String)
    /// An option has a value this package does not implement (or diffusers does not accept).
    case unsupportedOption(name: String, value: String, scheduler: String)
    /// The number of inference steps is outside 1...`num_train_timesteps`.
    case invalidStepCount(Int, trainTimesteps: Int)
    /// `step` was called with mismatched shapes, or more times than there are timesteps.
    case invalidStep(String)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case .invalidConfig(let source, let reason): return "\(source): \(reason)"
        case .unknownClass(let name):
            return "unknown scheduler class \(name.debugDescription) (supported: \(SchedulerKind.allCases.map(\.className).joined(separator: ", ")))"
        case .unsupportedOption(let name, let value, let scheduler): return "\(scheduler): unsupported \(name) = \(value)"
        case .invalidStepCount(let steps, let trainTimesteps):
            return "steps must be between 1 and num_train_timesteps (\(trainTimesteps)), got \(steps)"
        case .invalidStep(let message): return "scheduler step: \(message)"
        }
    }
}
