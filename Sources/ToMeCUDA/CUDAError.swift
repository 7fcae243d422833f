import CCUDA
import ToMe

/// A failure of the CUDA backend, with the driver's or NVRTC's own message.
///
/// Nothing in the backend aborts the process: a missing driver, a missing NVRTC, a compile error (with the compiler
/// log), an out-of-memory or a kernel fault all arrive here.
public enum CUDAError: Error, Equatable, CustomStringConvertible {
    /// The CUDA driver (`libcuda.so.1`) could not be loaded.
    case driverNotFound(String)
    /// NVRTC could not be found; the message lists where it was searched (set `TOMESD_NVRTC_PATH` to point at it).
    case nvrtcNotFound(String)
    /// There is no CUDA device with the requested index.
    case noDevice(String)
    /// The device is too old for the kernels (they need compute capability 8.0).
    case unsupportedDevice(String)
    /// NVRTC rejected the kernels; the message holds its log.
    case compileFailed(String)
    /// A driver call failed: allocation, copy, module load, launch, or a fault found when the device synchronised.
    case cudaFailed(String)
    /// An argument the CUDA kernels cannot handle (shape, size, device mismatch).
    case invalidArgument(String)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case .driverNotFound(let message): return "CUDA driver not found: \(message)"
        case .nvrtcNotFound(let message): return "NVRTC not found: \(message)"
        case .noDevice(let message): return "no CUDA device: \(message)"
        case .unsupportedDevice(let message): return "unsupported CUDA device: \(message)"
        case .compileFailed(let message): return "CUDA kernel compilation failed: \(message)"
        case .cudaFailed(let message): return "CUDA error: \(message)"
        case .invalidArgument(let message): return "invalid argument for the CUDA backend: \(message)"
        }
    }

    /// Throws the error a shim status stands for (with the shim's message for this thread); returns on success.
    static func check(_ status: tomecuda_status) throws {
        guard status != TOMECUDA_OK else { return }
        let message = String(cString: tomecuda_last_error())
        switch status {
        case TOMECUDA_ERROR_DRIVER_NOT_FOUND: throw CUDAError.driverNotFound(message)
        case TOMECUDA_ERROR_NVRTC_NOT_FOUND: throw CUDAError.nvrtcNotFound(message)
        case TOMECUDA_ERROR_NO_DEVICE: throw CUDAError.noDevice(message)
        case TOMECUDA_ERROR_UNSUPPORTED_DEVICE: throw CUDAError.unsupportedDevice(message)
        case TOMECUDA_ERROR_COMPILE: throw CUDAError.compileFailed(message)
        case TOMECUDA_ERROR_INVALID_ARGUMENT: throw CUDAError.invalidArgument(message)
        default: throw CUDAError.cudaFailed(message)
        }
    }
}
