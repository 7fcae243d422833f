import XCTest
@testable import TensorCore

/// A test case for the GEMM drivers: even tiny products go through the threaded paths (parallel products and
/// packing), and the kernel variants a test makes active are put back afterwards.
class GEMMTestCase: XCTestCase {
    private var savedThresholds = (0, 0)
    private var savedKernels = (GEMMKernel.active, BF16GEMMKernel.active)

    override func setUp() {
        super.setUp()
        savedThresholds = (GEMMBlocking.minParallelFlops, GEMMBlocking.minParallelPackCount)
        GEMMBlocking.minParallelFlops = 0
        GEMMBlocking.minParallelPackCount = 0
        savedKernels = (GEMMKernel.active, BF16GEMMKernel.active)
    }

    override func tearDown() {
        (GEMMBlocking.minParallelFlops, GEMMBlocking.minParallelPackCount) = savedThresholds
        GEMMKernel.setActive(savedKernels.0)
        BF16GEMMKernel.setActive(savedKernels.1)
        super.tearDown()
    }
}
