import Foundation
import ImageFiles
import TensorCore
import TestSupport
import XCTest

/// `tomesd generate` on the built-in demo: a copy of the executable alone in a folder, exact replays with
/// `--save-initial-latents` / `--latents`, and the notes and messages of the small cases.
final class GenerateOptionsTests: XCTestCase {
    /// The demo's options for a quick image.
    static let tiny = ["generate", "--prompt", "a cat", "--width", "16", "--height", "16"]

    /// A copy of `tomesd` alone in an empty folder runs the built-in demo (nothing is looked up beside it).
    func testCopiedExecutableRunsTheDemo() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let copy = folder.appendingPathComponent("tomesd")
        try FileManager.default.copyItem(at: try Self.toolURL(), to: copy)
        let image = folder.appendingPathComponent("demo.png")
        let run = try run(copy, Self.tiny + ["--steps", "1", "--output", image.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try RGBImage(contentsOfPNG: image).width, 16)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["demo.png", "tomesd"])
    }

    /// `--save-initial-latents` then `--latents` with the same other options reproduces the image and the final
    /// latents bit for bit; the final latents (`--save-latents`) are something else and do not.
    func testInitialLatentsReplayTheRun() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let file = { (name: String) in folder.appendingPathComponent(name) }
        for scheduler in ["pndm", "euler-a"] {
            let options = Self.tiny + ["--steps", "3", "--seed", "11", "--scheduler", scheduler]
            let first = try runTool(options + ["--save-initial-latents", file("initial.st").path,
                                               "--save-latents", file("final.st").path, "--output", file("a.png").path])
            XCTAssertEqual(first.status, 0, first.stderr)
            XCTAssertTrue(first.stdout.contains("wrote \(file("a.png").path), \(file("initial.st").path), "), first.stdout)
            let replay = try runTool(options + ["--latents", file("initial.st").path, "--save-latents", file("replay.st").path,
                                                "--output", file("b.png").path])
            XCTAssertEqual(replay.status, 0, replay.stderr)
            XCTAssertEqual(try Data(contentsOf: file("a.png")), try Data(contentsOf: file("b.png")), scheduler)
            let final = try SafeTensorsFile(contentsOf: file("final.st")).tensor("latents")
            XCTAssertEqual(final.scalars, try SafeTensorsFile(contentsOf: file("replay.st")).tensor("latents").scalars)
            let initial = try SafeTensorsFile(contentsOf: file("initial.st")).tensor("latents")
            XCTAssertEqual(initial.shape, [1, 4, 2, 2])
            XCTAssertNotEqual(initial.scalars, final.scalars)

            let wrong = try runTool(options + ["--latents", file("final.st").path, "--output", file("c.png").path])
            XCTAssertEqual(wrong.status, 0, wrong.stderr)
            XCTAssertNotEqual(try Data(contentsOf: file("a.png")), try Data(contentsOf: file("c.png")),
                              "\(scheduler): starting from the final latents should not replay the run")
        }
    }

    /// `--save-initial-latents` is prepared with the other outputs before any work: a refused path fails at once
    /// (status 2, naming the option) and nothing is written.
    func testInitialLatentsOutputIsCheckedFirst() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let image = folder.appendingPathComponent("out.png").path
        let cases: [(String, String)] = [
            (folder.appendingPathComponent("missing/initial.st").path, "option --save-initial-latents"),
            (image, "option --save-initial-latents"),
            (folder.path, "option --save-initial-latents"),
        ]
        for (path, message) in cases {
            let run = try runTool(Self.tiny + ["--steps", "1", "--save-initial-latents", path, "--output", image])
            XCTAssertEqual(run.status, 2, "\(path): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(path): \(run.stderr)")
            XCTAssertFalse(run.stdout.contains("loaded in"), "\(path): the work started")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
        }
    }

    /// PNDM's extra step is explained; one step is "1 UNet step"; an unused negative prompt is noted; a missing
    /// model folder "does not exist".
    func testSmallMessages() throws {
        let image = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("out.png").path
        let pndm = try runTool(Self.tiny + ["--steps", "2", "--output", image])
        XCTAssertEqual(pndm.status, 0, pndm.stderr)
        XCTAssertTrue(pndm.stderr.contains("note: --steps 2 runs 3 UNet steps with this scheduler (PNDM's first step takes two"),
                      pndm.stderr)
        XCTAssertTrue(pndm.stdout.contains(", 3 UNet steps "), pndm.stdout)

        let one = try runTool(Self.tiny + ["--steps", "1", "--scheduler", "ddim", "--output", image])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains(", 1 UNet step "), one.stdout)
        XCTAssertFalse(one.stderr.contains("note:"), one.stderr)

        let negative = try runTool(Self.tiny + ["--steps", "1", "--scheduler", "ddim", "--guidance", "1",
                                                "--negative-prompt", "a dog", "--output", image])
        XCTAssertEqual(negative.status, 0, negative.stderr)
        XCTAssertTrue(negative.stderr.contains("note: --negative-prompt is not used with --guidance 1.0"), negative.stderr)

        let missing = try runTool(["generate", "--model", "/nonexistent/sd", "--prompt", "a", "--output", image])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/sd: does not exist"), missing.stderr)
        XCTAssertFalse(missing.stderr.contains("model_index.json"), missing.stderr)
    }
}
