import CCUDA
import ToMe

/// Device memory holding `count` elements of a plain type, freed when the buffer is released.
///
/// Copies are explicit: ``upload(_:)`` and ``download()``. Elements must be trivial (`Float`, `Int32`, `UInt64`).
public final class CUDABuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The device the memory lives on.
    public let device: CUDADevice
    /// Number of elements.
    public let count: Int
    /// The device address (`CUdeviceptr`).
    public let address: UInt64

    /// Allocates `count` elements (uninitialised) on `device`.
    public init(device: CUDADevice, count: Int) throws {
        guard count >= 0 else { throw CUDAError.invalidArgument("buffer of \(count) elements") }
        var address: UInt64 = 0
        try CUDAError.check(tomecuda_alloc(device.ordinal, count * MemoryLayout<Element>.stride, &address))
        self.device = device
        self.count = count
        self.address = address
    }

    /// Allocates a buffer on `device` holding `elements`.
    public convenience init(device: CUDADevice, elements: [Element]) throws {
        try self.init(device: device, count: elements.count)
        try upload(elements)
    }

    deinit { _ = tomecuda_free(device.ordinal, address) }

    /// Bytes the buffer spans.
    public var byteCount: Int { count * MemoryLayout<Element>.stride }

    /// Copies `elements` (exactly `count` of them) to the device.
    public func upload(_ elements: [Element]) throws {
        guard elements.count == count else {
            throw CUDAError.invalidArgument("uploading \(elements.count) elements into a buffer of \(count)")
        }
        try elements.withUnsafeBytes { try upload(from: $0) }
    }

    /// Copies `bytes` (exactly ``byteCount`` of them) to the device.
    public func upload(from bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == byteCount else {
            throw CUDAError.invalidArgument("uploading \(bytes.count) bytes into a buffer of \(byteCount)")
        }
        guard let base = bytes.baseAddress else { return }
        try CUDAError.check(tomecuda_upload(device.ordinal, address, base, bytes.count))
    }

    /// Waits for the device's queued work, then copies the elements back.
    public func download() throws -> [Element] {
        try [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            try download(into: UnsafeMutableRawBufferPointer(buffer))
            initialized = count
        }
    }

    /// Waits for the device's queued work, then copies ``byteCount`` bytes into `bytes`.
    public func download(into bytes: UnsafeMutableRawBufferPointer) throws {
        guard bytes.count == byteCount else {
            throw CUDAError.invalidArgument("downloading \(byteCount) bytes into \(bytes.count)")
        }
        guard let base = bytes.baseAddress else { return }
        try CUDAError.check(tomecuda_download(device.ordinal, base, address, bytes.count))
    }

    /// Sets every byte to zero (queued on the device).
    public func zero() throws {
        try CUDAError.check(tomecuda_zero(device.ordinal, address, byteCount))
    }
}
