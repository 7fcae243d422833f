import Foundation
import TensorCore
import TestSupport
import XCTest

/// `--method todo` on `tomesd unet`, `generate` and `bench unet`: the reference's output through the CLI, and every
/// ToDo option validated with exit status 2 and the option's name.
final class ToDoCommandTests: XCTestCase {
    /// The reference case "factor-3-bilinear" (Tests/Fixtures/todo, made by make_todo_fixtures.py) through
    /// `tomesd unet --method todo`.
    func testUNetCommandGivesTheReferenceOutput() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let cases = try SafeTensorsFile(contentsOf: TestFiles.fixture("todo/cases.safetensors"))
        let name = "factor-3-bilinear"
        var inputs: [String: Tensor] = [:]
        for key in ["sample", "timestep", "encoder_hidden_states"] { inputs[key] = try cases.tensor("\(name).\(key)") }
        let inputsURL = folder.appendingPathComponent("inputs.safetensors")
        let outputURL = folder.appendingPathComponent("out.safetensors")
        try SafeTensors.write(inputs, to: inputsURL)
        let run = try runTool(["unet", "--model", TestFiles.fixture("sd/unet-sd1").path, "--inputs", inputsURL.path,
                               "--output", outputURL.path, "--method", "todo", "--downsample-factor", "3",
                               "--downsample-method", "bilinear", "--max-downsample", "2"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("ToDo: removed 483 key/value tokens in 6 of 7 block calls"), run.stdout)
        let output = try SafeTensorsFile(contentsOf: outputURL).tensor("sample")
        let expected = try cases.tensor("\(name).out")
        XCTAssertEqual(output.shape, expected.shape)
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(output.scalars, expected.scalars) {
            difference += Double(x - y) * Double(x - y)
            norm += Double(y) * Double(y)
        }
        XCTAssertLessThanOrEqual((difference / norm).squareRoot(), 1e-4)
    }

    func testBadToDoOptionsAreNamed() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let out = folder.appendingPathComponent("out.safetensors").path
        let unet = ["unet", "--config", TestFiles.fixture("sd/unet-sd1/config.json").path, "--inputs", out,
                    "--output", out]
        let generate = ["generate", "--prompt", "a", "--width", "16", "--height", "16", "--steps", "1", "--output",
                        folder.appendingPathComponent("out.png").path]
        let bench = ["bench", "unet", "--resolutions", "64", "--batch", "1", "--steps", "1", "--warmup", "0"]
        let cases: [([String], String)] = [
            (unet + ["--method", "tomd"], "option --method expects tome or todo, got 'tomd'"),
            (unet + ["--downsample-factor", "2"], "option --downsample-factor goes with --method todo"),
            (unet + ["--downsample-method", "bilinear"], "option --downsample-method goes with --method todo"),
            (unet + ["--method", "todo", "--downsample-factor", "0"], "option --downsample-factor: 0 is outside 1...64"),
            (unet + ["--method", "todo", "--downsample-factor", "x"], "option --downsample-factor expects an integer"),
            (unet + ["--method", "todo", "--downsample-method", "linear"], "option --downsample-method expects one of"),
            (unet + ["--method", "todo", "--max-downsample", "3"], "option --max-downsample: 3 is not one of 1, 2, 4, 8"),
            (unet + ["--method", "todo", "--ratio", "0.5"], "option --ratio goes with --method tome"),
            (unet + ["--method", "todo", "--no-random"], "option --no-random goes with --method tome"),
            (generate + ["--method", "todo", "--downsample-factor", "65"], "option --downsample-factor: 65 is outside"),
            (generate + ["--downsample-method", "area"], "option --downsample-method goes with --method todo"),
            (generate + ["--timestep-threshold-stop", "0.5"], "option --timestep-threshold-stop goes with --method todo"),
            (generate + ["--method", "todo", "--timestep-threshold-stop", "2"],
             "option --timestep-threshold-stop: 2.0 is outside [0, 1]"),
            (unet + ["--method", "todo", "--timestep-threshold-stop", "nan"], "option --timestep-threshold-stop expects a number"),
            (bench + ["--method", "todo", "--downsample-factor", "-1"], "option --downsample-factor: -1 is outside"),
            (bench + ["--method", "todo", "--downsample-method", "cubic"], "option --downsample-method expects one of"),
            (bench + ["--method", "fast"], "option --method expects tome or todo"),
        ]
        for (arguments, message) in cases {
            let run = try runTool(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    func testGenerateRunsWithToDo() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let image = folder.appendingPathComponent("out.png")
        let generate = try runTool(["generate", "--prompt", "a", "--width", "64", "--height", "64", "--steps", "2",
                                    "--method", "todo", "--output", image.path])
        XCTAssertEqual(generate.status, 0, generate.stderr)
        XCTAssertTrue(generate.stdout.contains("ToDo: removed"), generate.stdout)
        // Two PNDM steps make three UNet calls, the later ones at timestep 1: a threshold of 0.3 leaves those alone,
        // so fewer tokens go per forward than without it.
        let perForward = { (text: String) -> Int? in
            text.components(separatedBy: "ToDo: removed ").dropFirst().first?.split(separator: " ").first
                .flatMap { Int($0) }
        }
        let late = try runTool(["generate", "--prompt", "a", "--width", "64", "--height", "64", "--steps", "2",
                                "--method", "todo", "--timestep-threshold-stop", "0.3", "--output", image.path])
        XCTAssertEqual(late.status, 0, late.stderr)
        let (all, half) = (try XCTUnwrap(perForward(generate.stdout)), try XCTUnwrap(perForward(late.stdout)))
        XCTAssertGreaterThan(all, 0)
        XCTAssertLessThan(half, all, late.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: image.path))
    }
}
