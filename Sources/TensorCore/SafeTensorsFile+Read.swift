import CKernels
import Foundation

extension SafeTensorsFile {
    /// Elements per read: large enough to amortise a system call, small enough that a conversion buffer stays in L2.
    static let readChunk = 1 << 16

    /// Reads the floating-point tensor `descriptor` (F32, F16, BF16 or F64) into `destination`, which holds
    /// `descriptor.count` floats, in chunks spread over the shared pool.
    func readFloats(_ descriptor: Descriptor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let start = dataOffset + descriptor.byteRange.lowerBound
        let elementSize = descriptor.dtype.bitWidth / 8
        // F32 is read straight into place; the others through a buffer and a conversion.
        let convert: ((UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void)?
        switch descriptor.dtype {
        case .f16: convert = { ck_f16_to_f32($0, $1, $2) }
        case .bf16: convert = { ck_bf16_to_f32($0, $1, $2) }
        case .f64: convert = { ck_f64_to_f32($0, $1, $2) }
        default: convert = nil
        }
        let failure = FirstError()
        ThreadPool.shared.parallelRanges(destination.count, grain: 4 * Self.readChunk) { range in
            do {
                guard let convert else {
                    try file.read(into: destination.baseAddress! + range.lowerBound, count: range.count * 4, at: start + range.lowerBound * 4)
                    return
                }
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: Self.readChunk * elementSize, alignment: 64)
                defer { buffer.deallocate() }
                for chunk in stride(from: range.lowerBound, to: range.upperBound, by: Self.readChunk) {
                    let count = min(Self.readChunk, range.upperBound - chunk)
                    try file.read(into: buffer, count: count * elementSize, at: start + chunk * elementSize)
                    convert(buffer, destination.baseAddress! + chunk, count)
                }
            } catch {
                failure.record(error)
            }
        }
        try failure.rethrow()
    }
}

/// Keeps the first error thrown by any of the tasks of a parallel loop.
private final class FirstError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?

    func record(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }

    func rethrow() throws {
        lock.lock(); defer { lock.unlock() }
        if let error { throw error }
    }
}
