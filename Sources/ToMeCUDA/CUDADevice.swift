import CCUDA
import ToMe

/// One CUDA device, by index, as the ToMe CUDA backend sees it.
///
/// The driver and NVRTC are loaded on first use (never at build time); the kernels are compiled for the device's
/// compute capability the first time the device runs one, and cached for the rest of the process.
public struct CUDADevice: Sendable, Equatable, CustomStringConvertible {
    /// The device index (`cuDeviceGet` ordinal).
    public let index: Int

    /// The device `index`; throws ``CUDAError`` when the driver is missing or there is no such device.
    public init(_ index: Int) throws {
        guard index >= 0, index <= Int(Int32.max) else {
            throw CUDAError.noDevice("device index \(index) is out of range")
        }
        let count = try CUDADevice.count()
        guard index < count else {
            throw CUDAError.noDevice("no CUDA device \(index) (\(count) device\(count == 1 ? "" : "s") present)")
        }
        self.index = index
    }

    /// Number of CUDA devices; 0 when the driver loads but finds none. Throws when the driver cannot be loaded.
    public static func count() throws -> Int {
        var count: Int32 = 0
        try CUDAError.check(tomecuda_device_count(&count))
        return Int(count)
    }

    /// The device's name, compute capability, multiprocessor count and memory.
    public func info() throws -> (name: String, computeCapability: (major: Int, minor: Int), multiprocessors: Int,
                                  memoryBytes: Int) {
        var info = tomecuda_device_info()
        try CUDAError.check(tomecuda_get_device_info(Int32(index), &info))
        let name = withUnsafeBytes(of: info.name) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return (name, (Int(info.compute_major), Int(info.compute_minor)), Int(info.multiprocessors),
                Int(info.total_memory))
    }

    /// Compiles the kernels for this device now (otherwise the first kernel launch does), surfacing compile errors.
    public func prepare() throws {
        try CUDAError.check(tomecuda_prepare(Int32(index)))
    }

    /// Waits for all work queued on the device and reports any error a kernel raised.
    public func synchronize() throws {
        try CUDAError.check(tomecuda_synchronize(Int32(index)))
    }

    /// `cuda:<index>`.
    public var description: String { "cuda:\(index)" }

    var ordinal: Int32 { Int32(index) }
}

/// Compile-only access to the embedded kernels (no GPU needed): used by tests and diagnostics.
public enum CUDAKernels {
    /// The kernel source handed to NVRTC.
    public static var source: String { String(cString: tomecuda_kernel_source()) }

    /// Where NVRTC is searched, in order.
    public static var nvrtcSearchPath: String { String(cString: tomecuda_nvrtc_search_help()) }

    /// Compiles every kernel for `architecture` (`"sm_80"`, `"sm_90"`, ...) with NVRTC and discards the result.
    /// - Returns: the NVRTC version as (major, minor).
    /// - Throws: ``CUDAError/nvrtcNotFound(_:)`` or ``CUDAError/compileFailed(_:)`` with the compiler log.
    @discardableResult
    public static func compile(for architecture: String) throws -> (major: Int, minor: Int) {
        var version: Int32 = 0
        try CUDAError.check(tomecuda_compile_check(architecture, &version))
        return (Int(version) / 1000, Int(version) % 1000 / 10)
    }

    /// Turns per-kernel timing on or off (and resets it). While on, every launch waits for the device, so use it
    /// only to see where time goes, never for end-to-end timings.
    public static func setProfiling(_ enabled: Bool) { tomecuda_set_profiling(enabled ? 1 : 0) }

    /// Mean wall time and count of each kernel launched since profiling was turned on.
    public static var profileSummary: String { String(cString: tomecuda_profile_summary()) }

    /// Overrides the matching kernel's sources per thread block (64 or 128) and destination splits; 0 restores
    /// the automatic choice. For benchmarking only: results do not depend on it.
    public static func setMatchTuning(rows: Int, splits: Int) {
        tomecuda_set_match_tuning(Int32(clamping: rows), Int32(clamping: splits))
    }
}
