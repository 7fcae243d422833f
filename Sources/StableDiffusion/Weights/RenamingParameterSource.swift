import TensorCore

/// A ``ParameterSource`` in front of another that asks it for each parameter under the name the weights file
/// uses, and tolerates stored tensors the model has no use for.
///
/// Checkpoints spell the same parameters differently (transformers 4's `text_model.` prefix; the VAE attention's
/// `query` / `key` / `value` / `proj_attn` from before diffusers 0.14) and carry buffers that are not parameters
/// (`text_model.embeddings.position_ids`). The models ask for their parameters by one canonical name; this source
/// maps it to the stored one, and drops the ignored names from the underlying source's list of unexpected tensors.
final class RenamingParameterSource: ParameterSource {
    private let base: ParameterSource
    private let storedName: (String) -> String
    private let ignored: (String) -> Bool

    /// Reads from `base`, asking for `storedName(name)` when a model asks for `name`; stored names for which
    /// `ignored` is true may go unused.
    init(_ base: ParameterSource, ignoring ignored: @escaping (String) -> Bool = { _ in false },
         storedName: @escaping (String) -> String = { $0 }) {
        self.base = base
        self.ignored = ignored
        self.storedName = storedName
    }

    func parameter(_ name: String, shape: [Int], role: ParameterRole) -> Tensor {
        base.parameter(storedName(name), shape: shape, role: role)
    }

    func withParameter<R>(_ name: String, shape: [Int], role: ParameterRole, _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        base.withParameter(storedName(name), shape: shape, role: role, body)
    }

    /// The base source's check, with the ignored names taken out of its unexpected tensors.
    func finish() throws {
        do {
            try base.finish()
        } catch let WeightError.mismatch(path, missing, unexpected, misshaped, unreadable) {
            let remaining = unexpected.filter { !ignored($0) }
            guard missing.isEmpty && remaining.isEmpty && misshaped.isEmpty && unreadable.isEmpty else {
                throw WeightError.mismatch(path: path, missing: missing, unexpected: remaining, misshaped: misshaped,
                                           unreadable: unreadable)
            }
        }
    }
}
