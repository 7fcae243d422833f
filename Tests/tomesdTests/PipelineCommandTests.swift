import Foundation
import ImageFiles
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// `tomesd generate`, run as the built executable (`swift test` builds it beside the test bundle): the image of a
/// fixture case, the latents options, Ctrl-C, and each bad input.
final class PipelineCommandTests: XCTestCase {
    /// The explicit-latents case `ddim.g7.5` of the SD 1 fixture, through the command line: the PNG matches
    /// diffusers' image and `--save-latents` its final latents.
    func testGeneratesTheReferenceImage() throws {
        let style = "sd1"
        let testCase = try XCTUnwrap(try PipelineFixtures.cases(style).cases.first { $0.name == "ddim.g7.5" })
        XCTAssertTrue(testCase.initialLatents)
        let reference = try PipelineFixtures.tensors(style)
        let folder = try Fixtures.temporaryDirectory(for: self)
        let initial = folder.appendingPathComponent("initial.safetensors")
        try SafeTensors.write(["latents": try reference.tensor("ddim.g7.5.initial_latents")], to: initial)
        let image = folder.appendingPathComponent("out.png"), final = folder.appendingPathComponent("final.safetensors")
        var arguments = ["generate", "--model", PipelineFixtures.folder(style).path, "--prompt", testCase.prompt,
                         "--width", "\(testCase.width)", "--height", "\(testCase.height)", "--steps", "\(testCase.steps)",
                         "--guidance", "\(testCase.guidance)", "--seed", "\(testCase.seed)", "--scheduler", testCase.scheduler,
                         "--latents", initial.path, "--save-latents", final.path, "--output", image.path]
        if let negative = testCase.negativePrompt { arguments += ["--negative-prompt", negative] }
        let run = try runTool(arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("wrote \(image.path)"), run.stdout)
        XCTAssertTrue(run.stderr.contains("step 3/3"), run.stderr)
        let expected = try reference.integers("ddim.g7.5.image").map { UInt8($0) }
        assertImagesMatch(try RGBImage(contentsOfPNG: image), expected, width: testCase.width, height: testCase.height, "CLI image")
        assertClose(try SafeTensorsFile(contentsOf: final).tensor("latents").scalars,
                    try reference.tensor("ddim.g7.5.latents").scalars, tolerance: 1e-3, "CLI --save-latents")
    }

    /// `--precision bf16` through the command line: the final latents of the explicit-latents case `ddim.g7.5`
    /// within PyTorch's own bf16 error of diffusers fp32 (networks bf16, scheduler fp32, as ours).
    func testGeneratesInBF16WithinPyTorchsBF16Error() throws {
        let reference = try PipelineFixtures.tensors("sd1")
        let folder = try Fixtures.temporaryDirectory(for: self)
        let initial = folder.appendingPathComponent("initial.safetensors")
        try SafeTensors.write(["latents": try reference.tensor("ddim.g7.5.initial_latents")], to: initial)
        let final = folder.appendingPathComponent("final.safetensors")
        let testCase = try XCTUnwrap(try PipelineFixtures.cases("sd1").cases.first { $0.name == "ddim.g7.5" })
        var arguments = ["generate", "--model", PipelineFixtures.folder("sd1").path, "--prompt", testCase.prompt,
                         "--width", "\(testCase.width)", "--height", "\(testCase.height)", "--steps", "\(testCase.steps)",
                         "--guidance", "\(testCase.guidance)", "--seed", "\(testCase.seed)", "--scheduler", testCase.scheduler,
                         "--precision", "bf16", "--latents", initial.path, "--save-latents", final.path,
                         "--output", folder.appendingPathComponent("out.png").path]
        if let negative = testCase.negativePrompt { arguments += ["--negative-prompt", negative] }
        let run = try runTool(arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        let ours = try SafeTensorsFile(contentsOf: final).tensor("latents").scalars
        let expected = try reference.tensor("ddim.g7.5.latents").scalars
        var difference = 0.0, norm = 0.0
        for (a, e) in zip(ours, expected) {
            difference += Double(a - e) * Double(a - e)
            norm += Double(e) * Double(e)
        }
        let bars = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("bf16_reference.json"))) as? [String: Any]
        let bar = try XCTUnwrap((bars?["pipeline-sd1-bf16-models"] as? [String: Double])?["ddim.g7.5"])
        let error = (difference / norm).squareRoot()
        XCTAssertLessThanOrEqual(error, bar, "CLI bf16 latents against diffusers fp32")
        XCTAssertGreaterThan(error, 1e-5, "the run must really be bf16")
    }

    /// An SDXL folder through the command line: `model_index.json` picks the SDXL pipeline; the ToMe case of the
    /// SDXL fixture (tomesd at max_downsample 2, no-random) matches diffusers + tomesd with `--max-downsample auto`;
    /// tomesd's default maxDownsample 1 says that it merges nothing.
    func testGeneratesSDXLWithTokenMerging() throws {
        let style = "sdxl"
        let testCase = try XCTUnwrap(try PipelineFixtures.cases(style).cases.first { $0.tome != nil })
        XCTAssertEqual(testCase.tome?.maxDownsample, 2)
        let reference = try PipelineFixtures.tensors(style)
        let folder = try Fixtures.temporaryDirectory(for: self)
        let image = folder.appendingPathComponent("out.png"), final = folder.appendingPathComponent("final.safetensors")
        var arguments = ["generate", "--model", PipelineFixtures.folder(style).path, "--prompt", testCase.prompt,
                         "--width", "\(testCase.width)", "--height", "\(testCase.height)", "--steps", "\(testCase.steps)",
                         "--guidance", "\(testCase.guidance)", "--seed", "\(testCase.seed)", "--scheduler", testCase.scheduler,
                         "--ratio", "\(try XCTUnwrap(testCase.tome).ratio)", "--no-random",
                         "--save-latents", final.path, "--output", image.path]
        if let negative = testCase.negativePrompt { arguments += ["--negative-prompt", negative] }
        let run = try runTool(arguments + ["--max-downsample", "auto"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(run.stderr.contains("merges nothing"), run.stderr)
        let expected = try reference.integers("\(testCase.name).image").map { UInt8($0) }
        assertImagesMatch(try RGBImage(contentsOfPNG: image), expected, width: testCase.width, height: testCase.height,
                          "CLI SDXL image")
        assertClose(try SafeTensorsFile(contentsOf: final).tensor("latents").scalars,
                    try reference.tensor("\(testCase.name).latents").scalars, tolerance: 1e-3, "CLI SDXL --save-latents")

        let idle = try runTool(arguments)
        XCTAssertEqual(idle.status, 0, idle.stderr)
        XCTAssertTrue(idle.stderr.contains("note: Token Merging merges nothing on this model at --max-downsample 1")
                      && idle.stderr.contains("use --max-downsample 2 or auto"), idle.stderr)
        let bad = try runTool(arguments + ["--max-downsample", "often"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("option --max-downsample expects 1, 2, 4, 8 or auto, got 'often'"), bad.stderr)
    }

    /// Token Downsampling on SDXL through the command line: the default level acts nowhere and says so; `auto`
    /// downsamples (and changes the result); a bad level is named. Without --width/--height the image takes the
    /// model's size as diffusers (`sample_size` 8 × VAE scale 4 = 32 here; 1024 on SDXL base).
    func testSDXLToDoLevelAndDefaultSize() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let image = folder.appendingPathComponent("out.png")
        let latents = { (name: String) in folder.appendingPathComponent("\(name).safetensors") }
        let base = ["generate", "--model", PipelineFixtures.folder("sdxl").path, "--prompt", "a cat", "--steps", "2",
                    "--scheduler", "euler", "--output", image.path]
        let plain = try runTool(base + ["--save-latents", latents("plain").path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let written = try RGBImage(contentsOfPNG: image)
        XCTAssertEqual([written.width, written.height], [32, 32])

        let idle = try runTool(base + ["--method", "todo", "--save-latents", latents("idle").path])
        XCTAssertEqual(idle.status, 0, idle.stderr)
        XCTAssertTrue(idle.stderr.contains("note: Token Downsampling downsamples nothing on this model at --max-downsample 1")
                      && idle.stderr.contains("use --max-downsample 2 or auto"), idle.stderr)
        let automatic = try runTool(base + ["--method", "todo", "--max-downsample", "auto", "--save-latents", latents("auto").path])
        XCTAssertEqual(automatic.status, 0, automatic.stderr)
        XCTAssertFalse(automatic.stderr.contains("downsamples nothing"), automatic.stderr)
        let read = { (name: String) in try SafeTensorsFile(contentsOf: latents(name)).tensor("latents").scalars }
        XCTAssertEqual(try read("idle"), try read("plain"))
        XCTAssertNotEqual(try read("auto"), try read("plain"))
        let bad = try runTool(base + ["--method", "todo", "--max-downsample", "often"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("option --max-downsample expects 1, 2, 4, 8 or auto, got 'often'"), bad.stderr)

        let wide = try runTool(base + ["--width", "48"])
        XCTAssertEqual(wide.status, 0, wide.stderr)
        let wideImage = try RGBImage(contentsOfPNG: image)
        XCTAssertEqual([wideImage.width, wideImage.height], [48, 32], "the side not given is the model's")
    }

    /// Without --model the built-in demo runs and says that it paints noise and how to get real images.
    func testBuiltInDemoExplainsItself() throws {
        let image = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("demo.png")
        let run = try runTool(["generate", "--prompt", "a cat", "--width", "16", "--height", "16", "--steps", "1",
                               "--ratio", "0.5", "--output", image.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("built-in demo pipeline"), run.stdout)
        XCTAssertTrue(run.stdout.contains("pass --model DIR"), run.stdout)
        XCTAssertTrue(run.stdout.contains("ToMe: merged"), run.stdout)
        XCTAssertEqual(try RGBImage(contentsOfPNG: image).width, 16)
    }

    /// Ctrl-C stops between steps: exit status 130 and no output file.
    func testInterruptWritesNothing() throws {
        let image = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("never.png")
        let run = try runTool(["generate", "--prompt", "a cat", "--width", "16", "--height", "16", "--steps", "900",
                               "--output", image.path], interruptAfter: "step 2/")
        XCTAssertEqual(run.status, 130, run.stderr)
        XCTAssertTrue(run.stderr.contains("stopped by Ctrl-C after"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: image.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: image.deletingLastPathComponent().path), [])
    }

    /// Each bad input is refused before anything is loaded or written, naming the option.
    func testBadInputsAreNamed() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let image = folder.appendingPathComponent("out.png").path
        let model = PipelineFixtures.folder("sd1").path
        let base = ["generate", "--model", model, "--prompt", "a cat", "--width", "16", "--height", "16", "--steps", "1"]
        let usageCases: [([String], String)] = [
            (["generate", "--model", model, "--prompt", "a", "--width", "20", "--output", image],
             "option --width must be a positive multiple of 8, got 20"),
            (["generate", "--model", model, "--prompt", "a", "--steps", "0", "--output", image], "option --steps must be at least 1"),
            (base + ["--scheduler", "lms", "--output", image], "option --scheduler expects one of pndm, ddim, euler, euler-a"),
            (["generate", "--model", model, "--prompt", "a", "--width", "100000", "--height", "100000", "--output", image],
             "option --width must be at most 8192, got 100000"),
            (["generate", "--model", model, "--prompt", "a", "--height", "100001", "--output", image],
             "option --height must be a positive multiple of 8, got 100001"),
            (["generate", "--model", model, "--prompt", "a", "--steps", "9223372036854775807", "--output", image],
             "option --steps must be at most 100000"),
            (base + ["--output", folder.appendingPathComponent("missing/out.png").path], "does not exist"),
            (base + ["--output", folder.path], "is a directory"),
            (base + ["--output", image, "--save-latents", "/dev/null/latents.safetensors"], "option --save-latents"),
            (base + ["--output", image, "--sx", "3"], "option --sx needs --ratio"),
            (["generate", "--output", image], "missing required option --prompt"),
            (base + ["--precision", "fp16", "--output", image], "option --precision expects fp32 or bf16, got 'fp16'"),
        ]
        for (arguments, message) in usageCases {
            let run = try runTool(arguments)
            XCTAssertEqual(run.status, 2, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        let missing = try runTool(["generate", "--model", folder.path, "--prompt", "a", "--output", image])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("missing model_index.json"), missing.stderr)
        let latents = folder.appendingPathComponent("wrong.safetensors")
        try SafeTensors.write(["latents": Tensor(zeros: [1, 4, 2, 2])], to: latents)
        let wrongLatents = try runTool(base + ["--latents", latents.path, "--output", image])
        XCTAssertEqual(wrongLatents.status, 1)
        XCTAssertTrue(wrongLatents.stderr.contains("invalid initial latents: expected shape [1, 4, 4, 4]"), wrongLatents.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: image))
    }

    /// Prompt bytes that are not UTF-8 are refused with the offset of the first bad byte; a prompt over 77 tokens
    /// runs with a warning naming the dropped text.
    func testPromptBytesAndLength() throws {
        let image = try Fixtures.temporaryDirectory(for: self).appendingPathComponent("out.png").path
        let tool = try Self.toolURL().path
        let shell = "\"$0\" generate --model \"$1\" --prompt \"$(printf 'ab\\377c')\" --width 16 --height 16 --steps 1 --output \"$2\""
        let bad = try run(URL(fileURLWithPath: "/bin/sh"), ["-c", shell, tool, PipelineFixtures.folder("sd1").path, image])
        XCTAssertEqual(bad.status, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--prompt"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("UTF-8"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: image))

        let long = String(repeating: "a small house by the sea ", count: 20)
        let run = try runTool(["generate", "--model", PipelineFixtures.folder("sd1").path, "--prompt", long, "--width", "16",
                               "--height", "16", "--steps", "1", "--output", image])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("warning: the prompt is longer than the text encoder's 77 tokens"), run.stderr)
    }
}
