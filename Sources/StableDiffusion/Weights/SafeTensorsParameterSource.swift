import Foundation
import TensorCore

/// Parameters read from a safetensors file (F32, F16, BF16 or F64 stored; converted to `Float`), with every
/// missing, unexpected, mis-shaped or unreadable tensor collected for ``finish()``.
public final class SafeTensorsParameterSource: ParameterSource {
    private let file: SafeTensorsFile
    private var used: Set<String> = []
    private var missing: [String] = []
    private var misshaped: [WeightError.ShapeMismatch] = []
    private var unreadable: [String] = []

    /// Reads parameters from `file`.
    public init(file: SafeTensorsFile) {
        self.file = file
    }

    /// The tensor `name` if the file has it with `shape`; otherwise zeros, and the problem is noted.
    public func parameter(_ name: String, shape: [Int], role: ParameterRole) -> Tensor {
        used.insert(name)
        guard let descriptor = file.descriptors[name] else {
            missing.append(name)
            return Tensor(zeros: shape)
        }
        guard descriptor.shape == shape else {
            misshaped.append(.init(name: name, expected: shape, found: descriptor.shape))
            return Tensor(zeros: shape)
        }
        do {
            return try file.tensor(name)
        } catch {
            unreadable.append("\(error)")
            return Tensor(zeros: shape)
        }
    }

    /// Throws ``WeightError/mismatch(path:missing:unexpected:misshaped:unreadable:)`` listing every problem.
    public func finish() throws {
        let unexpected = file.tensorNames.filter { !used.contains($0) }
        guard missing.isEmpty, unexpected.isEmpty, misshaped.isEmpty, unreadable.isEmpty else {
            throw WeightError.mismatch(path: file.path, missing: missing.sorted(), unexpected: unexpected,
                                       misshaped: misshaped.sorted { $0.name < $1.name }, unreadable: unreadable)
        }
    }
}
