import StableDiffusion

/// The UNet shapes the benchmark builds (with seeded random weights, nothing downloaded).
public enum UNetBenchmarkArchitecture: String, CaseIterable, Sendable {
    /// Stable Diffusion 1.5's UNet (860M parameters), tomesd's benchmark model.
    case sd15
    /// Stable Diffusion XL base's UNet (2.6B parameters; fp32 weights 10.3 GB), with its `text_time` inputs.
    case sdxl

    /// The architecture's configuration.
    public var config: UNetConfig {
        switch self {
        case .sd15: return .stableDiffusion15
        case .sdxl: return .stableDiffusionXL
        }
    }

    /// A short name for tables.
    public var title: String {
        switch self {
        case .sd15: return "SD 1.5"
        case .sdxl: return "SDXL base"
        }
    }
}
