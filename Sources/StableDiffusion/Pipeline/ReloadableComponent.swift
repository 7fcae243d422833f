/// A pipeline component that can be dropped after use and loaded again (the text encoders: see
/// ``StableDiffusionPipeline/releasesTextEncoderAfterUse``).
final class ReloadableComponent<Component> {
    private var loaded: Component?
    private let loader: (() throws -> Component)?

    /// `component`, which `loader` (when given) rebuilds identically.
    init(_ component: Component, loader: (() throws -> Component)?) {
        loaded = component
        self.loader = loader
    }

    /// The component, loading it again if it was released.
    /// - Throws: ``PipelineError/incompatibleComponents(_:)`` when it was released and has no loader; the loader's
    ///   error.
    func get(name: String) throws -> Component {
        if let loaded { return loaded }
        guard let loader else {
            throw PipelineError.incompatibleComponents("the \(name) was released and cannot be reloaded")
        }
        let component = try loader()
        loaded = component
        return component
    }

    /// Drops the component when `asked` and it can be reloaded.
    func release(if asked: Bool) {
        if asked && loader != nil { loaded = nil }
    }
}
