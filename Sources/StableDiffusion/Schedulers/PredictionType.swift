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
