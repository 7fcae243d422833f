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
