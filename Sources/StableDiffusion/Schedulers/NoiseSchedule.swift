import TensorCore
import Foundation

/// The training noise schedule every scheduler starts from: betas, ᾱ (`alphas_cumprod`) and the noise levels
/// σ = √((1 − ᾱ)/ᾱ), as `Float`s computed like diffusers' `torch.float32` tensors (ᾱ accumulates in `Double`,
/// as PyTorch's CPU `cumprod` does).
struct NoiseSchedule: Sendable {
    /// ᾱ for training timesteps 0 ..< count.
    let alphasCumprod: [Float]

    /// Builds the schedule from the shared options of `config`.
    /// - Parameters:
    ///   - scheduler: the class name errors report.
    ///   - pinsLastAlphaForZeroSNR: whether zero-SNR rescaling then sets ᾱ of the last timestep to 2⁻²⁴ (Euler,
    ///     Euler ancestral and DPM-Solver do; DDIM does not).
    /// - Throws: ``SchedulerError/unsupportedOption(name:value:scheduler:)`` for an unknown beta schedule or
    ///   trained betas of the wrong count.
    init(config: SchedulerConfig, scheduler: String, pinsLastAlphaForZeroSNR: Bool) throws {
        let count = config.numTrainTimesteps ?? 1000
        guard count >= 2, count <= ConfigLimits.trainTimesteps else {
            throw SchedulerError.unsupportedOption(name: "num_train_timesteps", value: "\(count)", scheduler: scheduler)
        }
        // Schedulers add the offset to timesteps before checking them against the schedule: keep that sum small.
        if let offset = config.stepsOffset, !(-ConfigLimits.trainTimesteps...ConfigLimits.trainTimesteps).contains(offset) {
            throw SchedulerError.unsupportedOption(name: "steps_offset", value: "\(offset)", scheduler: scheduler)
        }
        var betas: [Float]
        if let trained = config.trainedBetas {
            guard trained.count == count else {
                throw SchedulerError.unsupportedOption(name: "trained_betas", value: "\(trained.count) values for \(count) timesteps", scheduler: scheduler)
            }
            betas = trained.map { Float($0) }
        } else {
            let start = config.betaStart ?? 0.0001, end = config.betaEnd ?? 0.02
            switch config.betaSchedule ?? "linear" {
            case "linear": betas = ScheduleMath.torchLinspace(start, end, count)
            case "scaled_linear": betas = ScheduleMath.torchLinspace(start.squareRoot(), end.squareRoot(), count).map { $0 * $0 }
            case "squaredcos_cap_v2": betas = Self.cosineBetas(count)
            case let other: throw SchedulerError.unsupportedOption(name: "beta_schedule", value: other, scheduler: scheduler)
            }
        }
        if config.rescaleBetasZeroSnr ?? false {
            betas = Self.rescaledToZeroTerminalSNR(betas)
        }
        var alphasCumprod = Self.cumulativeProduct(betas.map { 1 - $0 })
        if config.rescaleBetasZeroSnr ?? false, pinsLastAlphaForZeroSNR {
            alphasCumprod[count - 1] = 0x1p-24
        }
        // Betas outside (0, 1), too small to change ᾱ in float32, or so many that ᾱ underflows, make noise levels
        // (σ, ``sigmas``) of 0, infinity or NaN, which no scheduler can turn into timesteps. Zero-SNR rescaling makes the last ᾱ 0 on purpose.
        for (timestep, alpha) in alphasCumprod.enumerated() {
            let isZeroSNREnd = timestep == count - 1 && (config.rescaleBetasZeroSnr ?? false) && alpha == 0
            let sigma = Self.sigma(alpha)
            guard alpha.isFinite, alpha <= 1, sigma.isFinite && sigma > 0 || isZeroSNREnd else {
                throw SchedulerError.unsupportedOption(
                    name: config.trainedBetas == nil ? "beta_start, beta_end, beta_schedule, num_train_timesteps" : "trained_betas",
                    value: "a noise schedule with alphas_cumprod[\(timestep)] = \(alpha) (betas must be in (0, 1), "
                        + "and alphas_cumprod strictly between 0 and 1 in float32)",
                    scheduler: scheduler)
            }
        }
        self.alphasCumprod = alphasCumprod
    }

    /// Number of training timesteps.
    var count: Int { alphasCumprod.count }

    /// σ of every training timestep, ascending: `((1 - ᾱ) / ᾱ) ** 0.5` in `Float`.
    var sigmas: [Float] {
        alphasCumprod.map(Self.sigma)
    }

    /// σ of one ᾱ.
    private static func sigma(_ alpha: Float) -> Float {
        ((1 - alpha) / alpha).squareRoot()
    }

    /// `torch.cumprod` of a float32 tensor on CPU: the running product kept in `Double`, each entry rounded.
    private static func cumulativeProduct(_ values: [Float]) -> [Float] {
        var product = 1.0
        return values.map { value in
            product *= Double(value)
            return Float(product)
        }
    }

    /// `betas_for_alpha_bar` with the cosine ᾱ of Nichol & Dhariwal, capped at 0.999 (computed in `Double`).
    private static func cosineBetas(_ count: Int) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<count).map { i in
            Float(min(1 - alphaBar(Double(i + 1) / Double(count)) / alphaBar(Double(i) / Double(count)), 0.999))
        }
    }

    /// `rescale_zero_terminal_snr` (Lin et al. 2023): shifts and scales √ᾱ so the last timestep has zero SNR.
    private static func rescaledToZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        var roots = cumulativeProduct(betas.map { 1 - $0 }).map { $0.squareRoot() }
        let first = roots[0], last = roots[roots.count - 1]
        let scale = first / (first - last)
        roots = roots.map { ($0 - last) * scale }
        let alphaBars = roots.map { $0 * $0 }
        var alphas = [alphaBars[0]]
        for i in 1..<alphaBars.count { alphas.append(alphaBars[i] / alphaBars[i - 1]) }
        return alphas.map { 1 - $0 }
    }
}

extension NoiseSchedule {
    /// diffusers' `add_noise` of the DDPM-family schedulers (PNDM, DDIM) with ᾱ = `alphaCumprod`:
    /// `ᾱ ** 0.5 · original + (1 − ᾱ) ** 0.5 · noise`.
    /// - Throws: ``SchedulerError/invalidStep(_:)`` when the shapes differ.
    static func addNoise(to original: Tensor, noise: Tensor, alphaCumprod: Float) throws -> Tensor {
        let signal = alphaCumprod.squareRoot(), spread = (1 - alphaCumprod).squareRoot()
        return try Elementwise.map(original, noise) { signal * $0 + spread * $1 }
    }
}
