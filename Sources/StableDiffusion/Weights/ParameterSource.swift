import TensorCore

/// What a parameter is for, so that a random source can draw it the way PyTorch initialises it.
package enum ParameterRole: Equatable, Sendable {
    /// A linear or convolution weight with `fanIn` inputs per output.
    case weight(fanIn: Int)
    /// The bias of a linear or convolution layer with `fanIn` inputs per output.
    case bias(fanIn: Int)
    /// The scale (gamma) of a normalisation layer.
    case normScale
    /// The shift (beta) of a normalisation layer.
    case normShift
}

/// Where layer constructors get their parameters: a weights file, or seeded random numbers.
///
/// Parameters are asked for by their full diffusers key (`down_blocks.0.resnets.0.conv1.weight`) and shape, in
/// PyTorch's layout; each layer converts them to the layout its kernels want. A source never throws from
/// ``parameter(_:shape:role:)``: it notes every problem and reports them all at once from ``finish()``, so that one
/// error lists every missing, unexpected or mis-shaped key.
package protocol ParameterSource: AnyObject {
    /// The parameter `name` with `shape` (zeros standing in when the source cannot provide it).
    func parameter(_ name: String, shape: [Int], role: ParameterRole) -> Tensor
    /// Calls `body` with the parameter `name` of `shape` (row-major; zeros standing in when the source cannot
    /// provide it), valid only inside `body`. Layers that convert a weight at load use this: a source may lend
    /// memory it reuses for every parameter, which saves a fresh tensor (and its page faults) per weight.
    func withParameter<R>(_ name: String, shape: [Int], role: ParameterRole, _ body: (UnsafeBufferPointer<Float>) -> R) -> R
    /// Throws if any parameter was missing or mis-shaped, or the source holds parameters nobody asked for.
    func finish() throws
}

extension ParameterSource {
    /// The parameter as a fresh tensor, lent to `body`.
    package func withParameter<R>(_ name: String, shape: [Int], role: ParameterRole,
                                 _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        parameter(name, shape: shape, role: role).withUnsafeBufferPointer(body)
    }
}

/// A position in the module tree (`down_blocks.0.attentions.1`), from which a layer asks for its parameters by
/// their short names (`weight`, `bias`).
package struct ParameterScope {
    /// The source parameters come from.
    package let source: ParameterSource
    /// The dotted module path; empty at the root.
    package let path: String
    /// The precision linear and convolution layers pack their weights in (the model's, set at the root).
    package let precision: Precision
    /// Scratch memory for converting weights, shared by every scope of one model construction.
    let workspace: ConversionWorkspace

    /// The root scope of `source`, whose layers pack their weights in `precision`.
    package init(_ source: ParameterSource, precision: Precision = .fp32) {
        self.init(source: source, path: "", precision: precision, workspace: ConversionWorkspace())
    }

    private init(source: ParameterSource, path: String, precision: Precision, workspace: ConversionWorkspace) {
        self.source = source
        self.path = path
        self.precision = precision
        self.workspace = workspace
    }

    /// The scope of a child module, one path component per argument: `scope("down_blocks", 0)`.
    package func callAsFunction(_ components: CustomStringConvertible...) -> ParameterScope {
        let suffix = components.map(\.description).joined(separator: ".")
        return ParameterScope(source: source, path: path.isEmpty ? suffix : path + "." + suffix, precision: precision,
                              workspace: workspace)
    }

    /// The full key of the parameter `name` in this scope.
    package func key(_ name: String) -> String {
        path.isEmpty ? name : path + "." + name
    }

    /// The parameter `name` of this scope's module.
    package func parameter(_ name: String, shape: [Int], role: ParameterRole) -> Tensor {
        source.parameter(key(name), shape: shape, role: role)
    }

    /// Calls `body` with the parameter `name` of this scope's module, valid only inside `body`
    /// (``ParameterSource/withParameter(_:shape:role:_:)``).
    package func withParameter<R>(_ name: String, shape: [Int], role: ParameterRole,
                                 _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        source.withParameter(key(name), shape: shape, role: role, body)
    }
}
