import TensorCore
import ToMe

/// A `Float` tensor in CUDA device memory: a shape and a ``CUDABuffer``, row-major like ``Tensor``.
public struct CUDATensor: Sendable {
    /// The size of each dimension, outermost first.
    public let shape: [Int]
    /// The device memory (exactly the product of `shape` elements).
    public let buffer: CUDABuffer<Float>

    /// The device the tensor lives on.
    public var device: CUDADevice { buffer.device }

    /// Wraps `buffer`, which must hold exactly the product of `shape` elements.
    public init(shape: [Int], buffer: CUDABuffer<Float>) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == buffer.count else {
            throw CUDAError.invalidArgument("shape \(shape) does not fit a device buffer of \(buffer.count) elements")
        }
        self.shape = shape
        self.buffer = buffer
    }

    /// An uninitialised device tensor.
    public init(uninitialized shape: [Int], device: CUDADevice) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw CUDAError.invalidArgument("negative dimension in shape \(shape)")
        }
        try self.init(shape: shape, buffer: CUDABuffer(device: device, count: shape.reduce(1, *)))
    }

    /// Uploads `tensor` to `device`.
    public init(_ tensor: Tensor, device: CUDADevice) throws {
        try self.init(uninitialized: tensor.shape, device: device)
        try tensor.withUnsafeBufferPointer { try buffer.upload(from: UnsafeRawBufferPointer($0)) }
    }

    /// Waits for the device's queued work and copies the tensor back to the host.
    public func download() throws -> Tensor {
        var tensor = Tensor(uninitialized: shape)
        try tensor.withUnsafeMutableBufferPointer { try buffer.download(into: UnsafeMutableRawBufferPointer($0)) }
        return tensor
    }
}
