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

    /// Throws unless `index` names one of `count` timesteps (a begin index).
    static func beginIndex(_ index: Int, count: Int) throws {
        guard index >= 0, index < count else {
            throw SchedulerError.invalidStep("begin index \(index) is outside 0..<\(count)")
        }
    }
}
