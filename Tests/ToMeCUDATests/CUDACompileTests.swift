import Foundation
import ToMe
@testable import ToMeCUDA
import ToMeCUDAParity
import XCTest

/// The CUDA kernels compile with NVRTC for the architectures we ship for, on any machine with NVRTC (no GPU needed).
final class CUDACompileTests: XCTestCase {
    override func setUp() {
        CUDATestSupport.configureNVRTCSearch
    }

    func testKernelsCompileForSM80AndSM90() throws {
        for architecture in ["sm_80", "sm_90"] {
            do {
                let version = try CUDAKernels.compile(for: architecture)
                print("CUDACompileTests: kernels compile for \(architecture) with NVRTC \(version.major).\(version.minor)")
            } catch CUDAError.nvrtcNotFound(let message) {
                throw XCTSkip("NVRTC not found, kernels not compiled (set TOMESD_NVRTC_PATH to enable): \(message)")
            }
        }
    }

    func testUnknownArchitectureIsACompileErrorWithTheLog() throws {
        do {
            try CUDAKernels.compile(for: "sm_1")
            XCTFail("NVRTC accepted sm_1")
        } catch CUDAError.nvrtcNotFound(let message) {
            throw XCTSkip("NVRTC not found: \(message)")
        } catch CUDAError.compileFailed(let message) {
            // The message carries NVRTC's own log, which names the bad option.
            XCTAssertTrue(message.contains("sm_1") && message.contains("--gpu-architecture"), message)
        }
    }

    /// tome_kernels_embedded.h is generated from tome_kernels.cu; the two must not drift apart.
    func testEmbeddedSourceMatchesKernelFile() throws {
        let file = CUDATestSupport.packageRoot.appendingPathComponent("Sources/CCUDA/tome_kernels.cu")
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(CUDAKernels.source == text,
                      "Sources/CCUDA/tome_kernels_embedded.h is stale: run Scripts/cuda/embed-kernels.sh")
    }

    func testMissingDriverOrDeviceIsATypedError() throws {
        do {
            let count = try CUDADevice.count()
            XCTAssertThrowsError(try CUDADevice(count)) { error in
                guard case CUDAError.noDevice = error else { return XCTFail("unexpected error \(error)") }
            }
        } catch CUDAError.driverNotFound(let message) {
            XCTAssertTrue(message.contains("libcuda.so.1"), message)
            XCTAssertThrowsError(try CUDADevice(0)) { error in
                guard case CUDAError.driverNotFound = error else { return XCTFail("unexpected error \(error)") }
            }
        }
        XCTAssertThrowsError(try CUDADevice(-1)) { error in
            guard case CUDAError.noDevice = error else { return XCTFail("unexpected error \(error)") }
        }
    }
}
