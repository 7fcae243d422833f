import Foundation
import TensorCore

/// Parameters read from a safetensors file (F32, F16, BF16 or F64 stored; converted to `Float`), with every
/// missing, unexpected, mis-shaped or unreadable tensor collected for ``finish()``.
package final class SafeTensorsParameterSource: ParameterSource {
    private let file: SafeTensorsFile
    private var used: Set<String> = []
    private var missing: [String] = []
    private var misshaped: [WeightError.ShapeMismatch] = []
    private var unreadable: [String] = []
    /// The memory ``withParameter(_:shape:role:_:)`` lends, grown to the largest parameter.
    private let buffer = ConversionWorkspace()

    /// Reads parameters from `file`, which it starts reading ahead (``SafeTensorsFile/prefetch()``): a model
    /// asks for every tensor, in its own order.
    package init(file: SafeTensorsFile) {
        self.file = file
        file.prefetch()
    }

    /// The tensor `name` if the file has it with `shape`; otherwise zeros, and the problem is noted.
    package func parameter(_ name: String, shape: [Int], role: ParameterRole) -> Tensor {
        var tensor = Tensor(uninitialized: shape)
        tensor.withUnsafeMutableBufferPointer { read(name, shape: shape, into: $0) }
        return tensor
    }

    /// Calls `body` with the tensor `name` read into a buffer reused for every parameter (zeros, and the problem
    /// noted, when the file lacks it or holds another shape).
    package func withParameter<R>(_ name: String, shape: [Int], role: ParameterRole,
                                 _ body: (UnsafeBufferPointer<Float>) -> R) -> R {
        let count = shape.reduce(1, *)
        return buffer.withBuffer(count: count) { pointer in
            let values = UnsafeMutableBufferPointer(start: pointer, count: count)
            read(name, shape: shape, into: values)
            return body(UnsafeBufferPointer(values))
        }
    }

    /// Reads `name` into `destination` (`shape`'s element count), or writes zeros and notes the problem.
    private func read(_ name: String, shape: [Int], into destination: UnsafeMutableBufferPointer<Float>) {
        used.insert(name)
        guard let descriptor = file.descriptors[name] else {
            missing.append(name)
            destination.update(repeating: 0)
            return
        }
        guard descriptor.shape == shape else {
            misshaped.append(.init(name: name, expected: shape, found: descriptor.shape))
            destination.update(repeating: 0)
            return
        }
        do {
            try file.read(name, into: destination)
        } catch {
            unreadable.append("\(error)")
            destination.update(repeating: 0)
        }
    }

    /// Throws ``WeightError/mismatch(path:missing:unexpected:misshaped:unreadable:)`` listing every problem.
    package func finish() throws {
        let unexpected = file.tensorNames.filter { !used.contains($0) }
        guard missing.isEmpty, unexpected.isEmpty, misshaped.isEmpty, unreadable.isEmpty else {
            throw WeightError.mismatch(path: file.path, missing: missing.sorted(), unexpected: unexpected,
                                       misshaped: misshaped.sorted { $0.name < $1.name }, unreadable: unreadable)
        }
    }
}
