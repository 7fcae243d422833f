/// Errors loading a pipeline folder or running a generation. Each message names the folder, component or
/// parameter at fault.
public enum PipelineError: Error, Equatable, CustomStringConvertible {
    /// The model folder lacks `model_index.json` or a component the pipeline needs (or the index does not list it).
    case missingComponent(folder: String, component: String, reason: String)
    /// `model_index.json` describes a pipeline this package does not run.
    case unsupportedPipeline(path: String, reason: String)
    /// The components do not fit together (for example the text encoder's width is not the UNet's
    /// `cross_attention_dim`).
    case incompatibleComponents(String)
    /// A generation parameter is out of range: names the parameter (`width`, `steps`, `initial latents`...).
    case invalidParameter(name: String, reason: String)
    /// The progress callback asked to stop: `completedSteps` of `totalSteps` denoising steps had run.
    case cancelled(completedSteps: Int, totalSteps: Int)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case let .missingComponent(folder, component, reason):
            return "\(folder): missing \(component): \(reason)"
        case let .unsupportedPipeline(path, reason):
            return "\(path): \(reason)"
        case let .incompatibleComponents(reason):
            return "the pipeline's components do not fit together: \(reason)"
        case let .invalidParameter(name, reason):
            return "invalid \(name): \(reason)"
        case let .cancelled(completedSteps, totalSteps):
            return "generation cancelled after \(completedSteps) of \(totalSteps) steps"
        }
    }
}
