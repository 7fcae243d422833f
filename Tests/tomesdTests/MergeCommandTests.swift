import Foundation
import TensorCore
import TestSupport
import XCTest

/// `tomesd merge`, run as the built executable on a tomesd fixture: the restored tokens match tomesd's, and each
/// bad option is a usage error (status 2) that names it. (CLI tests share the executable runner of this target.)
final class MergeCommandTests: XCTestCase {
    private let fixture = TestFiles.fixture("tome/grid8x8_s2_r50_b2_c8_norand.safetensors")

    func testMergeMatchesTomesd() throws {
        let output = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("merged.safetensors")
        let run = try runTool(["merge", "--input", fixture.path, "--key", "x", "--height", "8", "--width", "8",
                               "--ratio", "0.5", "--no-random", "--output", output.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let result = try SafeTensorsFile(contentsOf: output), reference = try SafeTensorsFile(contentsOf: fixture)
        XCTAssertEqual(try result.tensor("merged").shape, [2, 32, 8])
        assertClose(try result.tensor("restored").scalars, try reference.tensor("restored").scalars,
                    tolerance: 1e-5, "restored vs tomesd")
    }

    func testBadOptionsAreUsageErrors() throws {
        let output = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("out.safetensors").path
        let base = ["merge", "--input", fixture.path, "--key", "x", "--output", output]
        let cases: [([String], String)] = [
            (base + ["--height", "8", "--width", "8", "--ratio", "1"], "--ratio"),
            (base + ["--height", "8", "--width", "8", "--ratio", "-0.1"], "--ratio"),
            (base + ["--height", "8", "--width", "8"], "--ratio"),
            (base + ["--height", "8", "--width", "8", "--ratio", "0.5", "--sx", "0"], "--sx"),
            (base + ["--height", "8", "--width", "8", "--ratio", "0.5", "--sy", "9"], "--sy"),
            (base + ["--height", "x", "--width", "8", "--ratio", "0.5"], "--height"),
            (base + ["--height", "8", "--width", "8", "--ratio", "0.5", "--bogus", "1"], "--bogus"),
        ]
        for (arguments, option) in cases {
            let run = try runTool(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(option), "\(arguments): \(run.stderr)")
        }
        // A grid that does not match the tensor, and a missing file: errors naming the problem, status 1.
        let mismatch = try runTool(base + ["--height", "7", "--width", "8", "--ratio", "0.5"])
        XCTAssertEqual(mismatch.status, 1, mismatch.stderr)
        XCTAssertTrue(mismatch.stderr.contains("7×8") || mismatch.stderr.contains("56"), mismatch.stderr)
        // A huge grid is compared with the file's tokens before anything is built (it once allocated 2 GB first),
        // an overflowing one too.
        for (height, width) in [("46341", "46340"), ("9223372036854775807", "2")] {
            let start = DispatchTime.now().uptimeNanoseconds
            let huge = try runTool(base + ["--height", height, "--width", width, "--ratio", "0.5"])
            XCTAssertEqual(huge.status, 1, huge.stderr)
            XCTAssertTrue(huge.stderr.contains("\(height)×\(width) grid") && huge.stderr.contains("has 64 tokens"), huge.stderr)
            XCTAssertLessThan(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, 10, "refused before building anything")
        }
        let missing = try runTool(["merge", "--input", "/nonexistent.safetensors", "--height", "8", "--width", "8",
                                   "--ratio", "0.5", "--output", output])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("/nonexistent.safetensors"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "no output file after a failure")
    }
}
