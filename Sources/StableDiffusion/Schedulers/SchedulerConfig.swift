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
public struct SchedulerConfig: Decodable, Equatable, Sendable {
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

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps", betaStart = "beta_start", betaEnd = "beta_end"
        case betaSchedule = "beta_schedule", trainedBetas = "trained_betas", predictionType = "prediction_type"
        case timestepSpacing = "timestep_spacing", stepsOffset = "steps_offset", setAlphaToOne = "set_alpha_to_one"
        case skipPrkSteps = "skip_prk_steps", clipSample = "clip_sample", clipSampleRange = "clip_sample_range"
        case thresholding, rescaleBetasZeroSnr = "rescale_betas_zero_snr", interpolationType = "interpolation_type"
        case useKarrasSigmas = "use_karras_sigmas", useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas", useLuLambdas = "use_lu_lambdas", useFlowSigmas = "use_flow_sigmas"
        case sigmaMin = "sigma_min", sigmaMax = "sigma_max", timestepType = "timestep_type"
        case finalSigmasType = "final_sigmas_type", solverOrder = "solver_order", algorithmType = "algorithm_type"
        case solverType = "solver_type", lowerOrderFinal = "lower_order_final", eulerAtFinal = "euler_at_final"
        case lambdaMinClipped = "lambda_min_clipped", varianceType = "variance_type"
        case useDynamicShifting = "use_dynamic_shifting"
    }

    /// An empty configuration: every option at its class default.
    public init() {}

    /// Parses the JSON of a `scheduler_config.json` (Python's `Infinity`/`NaN` literals allowed).
    /// - Parameter source: how errors name the data (usually the file path).
    /// - Throws: ``SchedulerError/invalidConfig(source:reason:)``.
    public init(json data: Data, source: String = "scheduler_config.json") throws {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        do {
            self = try decoder.decode(SchedulerConfig.self, from: data)
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw SchedulerError.invalidConfig(source: source, reason: "\(key): \(context.debugDescription)")
        } catch {
            throw SchedulerError.invalidConfig(source: source, reason: "not a valid scheduler config (\(error))")
        }
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
