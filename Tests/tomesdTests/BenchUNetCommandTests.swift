import XCTest

/// `tomesd bench unet`'s architecture option (the benchmark itself runs only in release builds: `Benchmarks/`).
final class BenchUNetCommandTests: XCTestCase {
    func testUnknownArchitectureIsAUsageError() throws {
        let run = try runTool(["bench", "unet", "--architecture", "sd3", "--resolutions", "64", "--batch", "1"])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertTrue(run.stderr.contains("option --architecture expects one of sd15, sdxl, got 'sd3'"), run.stderr)
    }
}
