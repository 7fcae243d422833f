import Foundation
import TensorCore

/// A diffusers `scheduler/scheduler_config.json`, field for field (snake_case keys). Every field is optional:
/// absent means "the scheduler class's default", resolved by each scheduler as diffusers does. Keys this
/// package does not know are ignored, as diffusers ignores unexpected keys.
///
/// To run another scheduler class on a model's config (diffusers'
/// `OtherScheduler.from_config(pipe.scheduler.config)`), build the other ``SchedulerKind`` from the same
/// value: diffusers 0.42 passes on only the keys the file set, so options the file leaves out take the new
/// class's defaults (Euler on SD 1.5's PNDM config gets `linspace` spacing, not PNDM's `leading`).
public struct SchedulerConfig: Equatable, Sendable {
    /// `_class_name`: which scheduler the file configures (for example `PNDMScheduler`).
    public var className: String?
    /// `num_train_timesteps`: length of the training noise schedule (1000).
    public var numTrainTimesteps: Int?
    /// `beta_start`: first beta of the schedule.
    public var betaStart: Double?
    /// `beta_end`: last beta of the schedule.
    public var betaEnd: Double?
    /// `beta_schedule`: `linear`, `scaled_linear` or `squaredcos_cap_v2`.
    public var betaSchedule: String?
    /// `trained_betas`: explicit betas, one per training timestep (overrides the schedule).
    public var trainedBetas: [Double]?
    /// `prediction_type`: `epsilon` or `v_prediction` (`sample` is rejected).
    public var predictionType: String?
    /// `timestep_spacing`: `leading`, `linspace` or `trailing`.
    public var timestepSpacing: String?
    /// `steps_offset`: added to `leading` timesteps (SD: 1).
    public var stepsOffset: Int?
    /// `set_alpha_to_one` (PNDM, DDIM): the ᾱ after the last step is 1 rather than ᾱ₀.
    public var setAlphaToOne: Bool?
    /// `skip_prk_steps` (PNDM): start with linear multistep rather than four Runge–Kutta steps.
    public var skipPrkSteps: Bool?
    /// `clip_sample` (DDIM): clamp the predicted clean sample to ±`clip_sample_range`.
    public var clipSample: Bool?
    /// `clip_sample_range` (DDIM).
    public var clipSampleRange: Double?
    /// `thresholding`: dynamic thresholding (rejected when true).
    public var thresholding: Bool?
    /// `rescale_betas_zero_snr`: rescale betas to zero terminal SNR.
    public var rescaleBetasZeroSnr: Bool?
    /// `interpolation_type` (Euler): `linear` (`log_linear` is rejected).
    public var interpolationType: String?
    /// `use_karras_sigmas` (Euler, DPM-Solver): Karras et al.'s ρ = 7 noise levels.
    public var useKarrasSigmas: Bool?
    /// `use_exponential_sigmas` (rejected when true).
    public var useExponentialSigmas: Bool?
    /// `use_beta_sigmas` (rejected when true).
    public var useBetaSigmas: Bool?
    /// `use_lu_lambdas` (DPM-Solver; rejected when true).
    public var useLuLambdas: Bool?
    /// `use_flow_sigmas` (DPM-Solver; rejected when true).
    public var useFlowSigmas: Bool?
    /// `sigma_min`: overrides the smallest Karras sigma.
    public var sigmaMin: Double?
    /// `sigma_max`: overrides the largest Karras sigma.
    public var sigmaMax: Double?
    /// `timestep_type` (Euler): `discrete` (`continuous` is rejected).
    public var timestepType: String?
    /// `final_sigmas_type` (Euler, DPM-Solver): `zero` or `sigma_min`.
    public var finalSigmasType: String?
    /// `solver_order` (DPM-Solver): 1 or 2.
    public var solverOrder: Int?
    /// `algorithm_type` (DPM-Solver): `dpmsolver++` (others are rejected).
    public var algorithmType: String?
    /// `solver_type` (DPM-Solver): `midpoint` or `heun`.
    public var solverType: String?
    /// `lower_order_final` (DPM-Solver): first-order steps at the end of short schedules.
    public var lowerOrderFinal: Bool?
    /// `euler_at_final` (DPM-Solver): a first-order last step.
    public var eulerAtFinal: Bool?
    /// `lambda_min_clipped` (DPM-Solver): drops the noisiest timesteps below this log-SNR.
    public var lambdaMinClipped: Double?
    /// `variance_type` (DPM-Solver): must be null (learned variances are rejected).
    public var varianceType: String?
    /// `use_dynamic_shifting` (DPM-Solver; rejected when true).
    public var useDynamicShifting: Bool?

    /// An empty configuration: every option at its class default.
    public init() {}

    /// Parses the JSON of a `scheduler_config.json` (Python's `Infinity`/`NaN` literals allowed, a duplicate key
    /// refused).
    /// - Parameter source: how errors name the data (usually the file path).
    /// - Throws: ``SchedulerError/invalidConfig(source:reason:)`` naming the key.
    public init(json data: Data, source: String = "scheduler_config.json") throws {
        let invalid = { (reason: String) in SchedulerError.invalidConfig(source: source, reason: reason) }
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(data)
        } catch {
            throw invalid("not valid JSON: \(error)")
        }
        guard case .object(let values) = parsed else { throw invalid("not a JSON object") }
        /// The value of `key`, nil when absent or null, converted by `convert` (nil: the wrong type).
        func read<Value>(_ key: String, _ expected: String, _ convert: (JSONValue) -> Value?) throws -> Value? {
            guard let value = values[key], value != .null else { return nil }
            guard let converted = convert(value) else { throw invalid("\(key): expected \(expected), got \(value)") }
            return converted
        }
        let number = { (value: JSONValue) -> Double? in if case .number(let number) = value { return number }; return nil }
        let string = { (value: JSONValue) -> String? in value.string }
        let bool = { (value: JSONValue) -> Bool? in value.bool }
        let integer = { (value: JSONValue) -> Int? in value.integer }
        self.init()
        className = try read("_class_name", "a string", string)
        numTrainTimesteps = try read("num_train_timesteps", "an integer", integer)
        betaStart = try read("beta_start", "a number", number)
        betaEnd = try read("beta_end", "a number", number)
        betaSchedule = try read("beta_schedule", "a string", string)
        trainedBetas = try read("trained_betas", "a list of numbers") { list in
            list.array.flatMap { items in
                let numbers = items.compactMap(number)
                return numbers.count == items.count ? numbers : nil
            }
        }
        predictionType = try read("prediction_type", "a string", string)
        timestepSpacing = try read("timestep_spacing", "a string", string)
        stepsOffset = try read("steps_offset", "an integer", integer)
        setAlphaToOne = try read("set_alpha_to_one", "true or false", bool)
        skipPrkSteps = try read("skip_prk_steps", "true or false", bool)
        clipSample = try read("clip_sample", "true or false", bool)
        clipSampleRange = try read("clip_sample_range", "a number", number)
        thresholding = try read("thresholding", "true or false", bool)
        rescaleBetasZeroSnr = try read("rescale_betas_zero_snr", "true or false", bool)
        interpolationType = try read("interpolation_type", "a string", string)
        useKarrasSigmas = try read("use_karras_sigmas", "true or false", bool)
        useExponentialSigmas = try read("use_exponential_sigmas", "true or false", bool)
        useBetaSigmas = try read("use_beta_sigmas", "true or false", bool)
        useLuLambdas = try read("use_lu_lambdas", "true or false", bool)
        useFlowSigmas = try read("use_flow_sigmas", "true or false", bool)
        sigmaMin = try read("sigma_min", "a number", number)
        sigmaMax = try read("sigma_max", "a number", number)
        timestepType = try read("timestep_type", "a string", string)
        finalSigmasType = try read("final_sigmas_type", "a string", string)
        solverOrder = try read("solver_order", "an integer", integer)
        algorithmType = try read("algorithm_type", "a string", string)
        solverType = try read("solver_type", "a string", string)
        lowerOrderFinal = try read("lower_order_final", "true or false", bool)
        eulerAtFinal = try read("euler_at_final", "true or false", bool)
        lambdaMinClipped = try read("lambda_min_clipped", "a number", number)
        varianceType = try read("variance_type", "a string", string)
        useDynamicShifting = try read("use_dynamic_shifting", "true or false", bool)
    }

    /// Reads `scheduler_config.json`.
    /// - Throws: ``SchedulerError/invalidConfig(source:reason:)`` naming the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try RegularFile.contents(atPath: url.path)
        } catch let error as FileReadError {
            throw SchedulerError.invalidConfig(source: url.path, reason: "cannot read (\(error.reason))")
        }
        try self.init(json: data, source: url.path)
    }
}
