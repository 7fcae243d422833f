import Foundation
import TensorCore
import TestSupport
import ToMe
@testable import ToMeCUDA
import ToMeCUDAParity
import XCTest

/// Shared set-up of the CUDA tests: where to find NVRTC, and whether a GPU is present.
enum CUDATestSupport {
    /// The package root.
    static let packageRoot = TestFiles.packageRoot

    /// Lets the shim find a pip-installed NVRTC in a virtual environment named `.venv*` in the package folder or
    /// one of its parents, unless `TOMESD_NVRTC_PATH` or `TOMESD_CUDA_LIBRARY_PATH` already says where it is.
    static let configureNVRTCSearch: Void = {
        let environment = ProcessInfo.processInfo.environment
        guard environment["TOMESD_NVRTC_PATH"] == nil, environment["TOMESD_CUDA_LIBRARY_PATH"] == nil else { return }
        var prefixes: [String] = []
        var folder = packageRoot
        while true {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            prefixes += entries.filter { $0.hasPrefix(".venv") }.sorted().map { folder.appendingPathComponent($0).path }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        if !prefixes.isEmpty { setenv("TOMESD_CUDA_LIBRARY_PATH", prefixes.joined(separator: ":"), 1) }
    }()

    /// A tensor of uniform values in [-1, 1), the same for the same seed.
    static func randomTensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var generator = SplitMix64(seed: seed)
        let count = shape.reduce(1, *)
        return try Tensor(shape: shape, scalars: (0..<count).map { _ in Float(generator.next() >> 40) / Float(1 << 23) - 1 })
    }

    /// The first CUDA device, or an XCTSkip saying why there is none.
    static func device() throws -> CUDADevice {
        configureNVRTCSearch
        let count: Int
        do {
            count = try CUDADevice.count()
        } catch let error as CUDAError {
            throw XCTSkip("no GPU: \(error)")
        }
        guard count > 0 else { throw XCTSkip("no GPU: the CUDA driver found no device") }
        return try CUDADevice(0)
    }
}
