/// What the progress callback wants next.
public enum ProgressAction: Sendable {
    /// Go on.
    case proceed
    /// Stop: ``StableDiffusionPipeline/generate(_:progress:)`` throws ``PipelineError/cancelled(completedSteps:totalSteps:)``.
    case cancel
}
