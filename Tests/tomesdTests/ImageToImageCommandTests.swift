import Foundation
import ImageFiles
import TensorCore
import TestSupport
import XCTest

/// `tomesd generate --init-image PNG --strength S --num-images N`, run as the built executable: the images of a
/// diffusers image-to-image fixture case, the numbered output names, and each bad input.
final class ImageToImageCommandTests: XCTestCase {
    /// The SD 1 case `dpm++2m-karras.s0.75.n2` (strength 0.75, two images): `out-0.png` and `out-1.png` match
    /// diffusers' images and `--save-latents` both final latents; `out.png` itself is not written.
    func testGeneratesTheReferenceImages() throws {
        let style = "sd1"
        let testCase = try XCTUnwrap(try ImageToImageFixtures.cases(style).first { $0.name == "dpm++2m-karras.s0.75.n2" })
        let reference = try ImageToImageFixtures.tensors(style)
        let folder = try Fixtures.temporaryDirectory(for: self)
        let output = folder.appendingPathComponent("out.png"), final = folder.appendingPathComponent("final.safetensors")
        var arguments = ["generate", "--model", PipelineFixtures.folder(style).path, "--prompt", testCase.prompt,
                         "--init-image", PipelineFixtures.folder(style).appendingPathComponent("init-image.png").path,
                         "--strength", "\(try XCTUnwrap(testCase.strength))", "--num-images", "\(testCase.numImages)",
                         "--steps", "\(testCase.steps)", "--guidance", "\(testCase.guidance)", "--seed", "\(testCase.seed)",
                         "--scheduler", testCase.scheduler, "--save-latents", final.path, "--output", output.path]
        if let negative = testCase.negativePrompt { arguments += ["--negative-prompt", negative] }
        let run = try runTool(arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        let names = (0..<testCase.numImages).map { folder.appendingPathComponent("out-\($0).png") }
        XCTAssertTrue(run.stdout.contains("wrote \(names.map(\.path).joined(separator: ", "))"), run.stdout)
        XCTAssertTrue(run.stderr.contains("step 3/3"), run.stderr)
        XCTAssertTrue(run.stdout.contains("VAE encode "), run.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output.path))
        let latents = try SafeTensorsFile(contentsOf: final).tensor("latents")
        try ImageToImageFixtures.assertMatches(latents: latents, images: try names.map { try RGBImage(contentsOfPNG: $0) },
                                               testCase, reference, "CLI")
    }

    /// Bad options exit 2 naming the option, a bad init image exits 1 naming the file; nothing is written.
    func testBadInputsAreNamed() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let output = folder.appendingPathComponent("out.png").path
        let initImage = PipelineFixtures.folder("sd1").appendingPathComponent("init-image.png").path
        let base = ["generate", "--model", PipelineFixtures.folder("sd1").path, "--prompt", "a cat", "--steps", "4"]
        let usageCases: [([String], String)] = [
            (base + ["--init-image", initImage, "--strength", "0", "--output", output], "option --strength must be in (0, 1], got 0.0"),
            (base + ["--init-image", initImage, "--strength", "1.5", "--output", output], "option --strength must be in (0, 1]"),
            (base + ["--init-image", initImage, "--strength", "0.2", "--output", output], "option --strength 0.2 of 4 steps leaves no step"),
            (base + ["--init-image", initImage, "--strength", "x", "--output", output], "option --strength expects a number"),
            (base + ["--strength", "0.5", "--output", output], "option --strength needs --init-image"),
            (base + ["--init-image", initImage, "--latents", initImage, "--output", output], "option --latents cannot be combined"),
            (base + ["--init-image", initImage, "--save-initial-latents", folder.appendingPathComponent("n.safetensors").path,
                     "--output", output], "option --save-initial-latents cannot be combined"),
            (base + ["--num-images", "0", "--output", output], "option --num-images must be between 1 and 16, got 0"),
            (base + ["--num-images", "100000", "--output", output], "option --num-images must be between 1 and 16"),
            (base + ["--init-image", initImage, "--width", "64", "--output", output], "options --width/--height (64×512) differ"),
            (base + ["--init-image", initImage, "--output", initImage], "it is the same file as the input"),
            (base + ["--num-images", "2", "--output", folder.appendingPathComponent("taken.png").path], "taken-1.png"),
            (base + ["--num-images", "2", "--output", folder.appendingPathComponent("missing/out.png").path], "does not exist"),
        ]
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("taken-1.png"), withIntermediateDirectories: false)
        for (arguments, message) in usageCases {
            let run = try runTool(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        let notPNG = folder.appendingPathComponent("image.png")
        try Data("not a png".utf8).write(to: notPNG)
        let oddSize = folder.appendingPathComponent("odd.png")
        try RGBImage(width: 12, height: 8, pixels: [UInt8](repeating: 9, count: 12 * 8 * 3)).writePNG(to: oddSize)
        let fileCases: [(String, String)] = [
            (notPNG.path, "\(notPNG.path): not a PNG file"),
            (folder.appendingPathComponent("absent.png").path, "absent.png"),
            (oddSize.path, "\(oddSize.path): 12×8 is not a multiple of 8"),
        ]
        for (path, message) in fileCases {
            let run = try runTool(base + ["--init-image", path, "--output", output])
            XCTAssertEqual(run.status, 1, "\(path): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(path): \(run.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["image.png", "odd.png", "taken-1.png"])
    }

    /// One image keeps the given name; several get `-0`, `-1`, ... before the extension.
    func testSeveralImagesOfTheDemoAreNumbered() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let run = try runTool(["generate", "--prompt", "a cat", "--width", "16", "--height", "16", "--steps", "1",
                               "--num-images", "3", "--output", folder.appendingPathComponent("cat.png").path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), ["cat-0.png", "cat-1.png", "cat-2.png"])
        let images = try (0..<3).map { try RGBImage(contentsOfPNG: folder.appendingPathComponent("cat-\($0).png")) }
        XCTAssertNotEqual(images[0], images[1], "each image has its own noise")
    }
}
