import Foundation
import TensorCore
import TestSupport
import XCTest

/// The CLI never destroys a file and never hangs on one: outputs that are not regular files, links, inputs of the
/// run or the other output are refused (status 2, naming both paths) before any work; FIFO inputs fail at once
/// (status 1, naming the file); thread counts are bounded (status 2); a signal leaves no temporary file. After
/// every probe each file in the folder is byte-for-byte what it was and nothing was added.
final class FileSafetyCommandTests: XCTestCase {
    private let mergeFixture = TestFiles.fixture("tome/grid8x8_s2_r50_b2_c8_norand.safetensors")

    /// Every entry below `folder`: a regular file as its bytes, anything else as a description of what it is.
    private func snapshot(_ folder: URL) throws -> [String: String] {
        var entries: [String: String] = [:]
        let manager = FileManager.default
        for name in try manager.subpathsOfDirectory(atPath: folder.path) {
            let path = folder.appendingPathComponent(name).path
            let attributes = try manager.attributesOfItem(atPath: path)
            let type = attributes[.type] as? FileAttributeType
            if type == .typeSymbolicLink {
                entries[name] = "link to " + (try manager.destinationOfSymbolicLink(atPath: path))
            } else if type == .typeRegular {
                entries[name] = (manager.contents(atPath: path) ?? Data()).base64EncodedString()
            } else {
                entries[name] = "\(type?.rawValue ?? "?")"
            }
        }
        return entries
    }

    /// Runs `arguments` and checks the status, that stderr holds every one of `named`, and that `folder` is as it was.
    private func assertRefused(_ arguments: [String], status: Int32 = 2, naming named: [String], leaving folder: URL,
                               environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try snapshot(folder)
        let start = Date()
        let run = try runTool(arguments, environment: environment)
        XCTAssertEqual(run.status, status, "\(arguments): \(run.stderr)", file: file, line: line)
        for text in named { XCTAssertTrue(run.stderr.contains(text), "\(arguments): '\(text)' not in \(run.stderr)", file: file, line: line) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "\(arguments) took too long", file: file, line: line)
        XCTAssertEqual(try snapshot(folder), before, "\(arguments) changed the folder", file: file, line: line)
    }

    func testMergeRefusesOutputsThatWouldDestroyAFile() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let input = folder.appendingPathComponent("input.safetensors").path
        try FileManager.default.copyItem(atPath: mergeFixture.path, toPath: input)
        XCTAssertEqual(link(input, folder.appendingPathComponent("hard-link.safetensors").path), 0)
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link.safetensors").path, withDestinationPath: input)
        XCTAssertEqual(mkfifo(folder.appendingPathComponent("fifo").path, 0o644), 0)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: false)
        // A private twin of /dev/null (device 1, 3) where mknod is allowed (root), else /dev/null, which only root
        // could replace: a regression never damages the machine's /dev/null.
        let privateDevice = folder.appendingPathComponent("null").path
        let device = mknod(privateDevice, S_IFCHR | 0o666, 259) == 0 ? privateDevice : "/dev/null"
        let base = ["merge", "--input", input, "--key", "x", "--height", "8", "--width", "8", "--ratio", "0.5", "--no-random", "--output"]
        let sameAsInput = [input, folder.path + "/./input.safetensors", folder.appendingPathComponent("hard-link.safetensors").path]
        for output in sameAsInput {
            try assertRefused(base + [output], naming: ["option --output", output, "same file as the input \(input)"], leaving: folder)
        }
        for (output, what) in [(folder.appendingPathComponent("link.safetensors").path, "is a symbolic link"),
                               (folder.appendingPathComponent("fifo").path, "is a FIFO"),
                               (folder.appendingPathComponent("sub").path, "is a directory"), (device, "is a character device")] {
            try assertRefused(base + [output], naming: ["option --output", output, what], leaving: folder)
        }
        var info = stat()
        XCTAssertEqual(stat(device, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "\(device) is still a device")
        // A regular file that is not an input is replaced, and nothing else appears.
        let output = try FileManager.default.contentsOfDirectory(atPath: folder.path).count
        let good = try runTool(base + [folder.appendingPathComponent("out.safetensors").path])
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).count, output + 1)
    }

    func testUNetRefusesToOverwriteItsModel() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let model = folder.appendingPathComponent("unet")
        try Fixtures.copyResolvingLinks(PipelineFixtures.folder("sd1").appendingPathComponent("unet"), to: model)
        let weights = model.appendingPathComponent("diffusion_pytorch_model.safetensors").path
        let config = model.appendingPathComponent("config.json").path
        let inputs = folder.appendingPathComponent("inputs.safetensors").path
        try SafeTensors.write(["sample": Tensor(zeros: [1, 4, 8, 8])], to: URL(fileURLWithPath: inputs))
        for (source, output) in [(["--model", model.path], weights), (["--model", folder.path], config),
                                 (["--config", config], config), (["--model", model.path], inputs)] {
            try assertRefused(["unet"] + source + ["--inputs", inputs, "--output", output],
                              naming: ["option --output", output, "same file as the input"], leaving: folder)
        }
    }

    func testGenerateRefusesInputsAndOneFileForBothOutputs() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let model = folder.appendingPathComponent("model")
        try Fixtures.copyResolvingLinks(PipelineFixtures.folder("sd1"), to: model)
        let latents = folder.appendingPathComponent("latents.safetensors").path
        try SafeTensors.write(["latents": Tensor(zeros: [1, 4, 2, 2])], to: URL(fileURLWithPath: latents))
        let image = folder.appendingPathComponent("image.png").path
        try Data("an older image".utf8).write(to: URL(fileURLWithPath: image))
        XCTAssertEqual(link(image, folder.appendingPathComponent("image-link.png").path), 0)
        let base = ["generate", "--model", model.path, "--prompt", "a cat", "--width", "16", "--height", "16", "--steps", "1"]
        let unetWeights = model.appendingPathComponent("unet/diffusion_pytorch_model.safetensors").path
        try assertRefused(base + ["--latents", latents, "--output", latents],
                          naming: ["option --output", "refusing to write \(latents): it is the same file as the input \(latents)"], leaving: folder)
        try assertRefused(base + ["--output", unetWeights], naming: ["option --output", unetWeights], leaving: folder)
        try assertRefused(base + ["--output", image, "--save-latents", model.appendingPathComponent("vae/config.json").path],
                          naming: ["option --save-latents", "vae/config.json"], leaving: folder)
        let fresh = folder.appendingPathComponent("new.out").path
        try assertRefused(base + ["--output", fresh, "--save-latents", fresh],
                          naming: ["option --save-latents", "refusing to write \(fresh): it is the same file as the other output \(fresh)"],
                          leaving: folder)
        let hardLink = folder.appendingPathComponent("image-link.png").path
        try assertRefused(base + ["--output", image, "--save-latents", hardLink],
                          naming: ["option --save-latents", "\(hardLink): it is the same file as the other output \(image)"], leaving: folder)
    }

    func testFIFOInputsFailAtOnce() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let fifo = folder.appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let output = folder.appendingPathComponent("out").path
        try assertRefused(["merge", "--input", fifo, "--key", "x", "--height", "8", "--width", "8", "--ratio", "0.5", "--output", output],
                          status: 1, naming: [fifo, "FIFO"], leaving: folder)
        try assertRefused(["unet", "--config", fifo, "--inputs", fifo, "--output", output], status: 1, naming: [fifo, "FIFO"], leaving: folder)
        try assertRefused(["generate", "--prompt", "a", "--width", "16", "--height", "16", "--steps", "1", "--latents", fifo, "--output", output],
                          status: 1, naming: [fifo, "FIFO"], leaving: folder)
        // A model folder with a FIFO for one of its files.
        let model = folder.appendingPathComponent("model")
        try Fixtures.copyResolvingLinks(PipelineFixtures.folder("sd1"), to: model)
        for name in ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/vocab.json", "text_encoder/config.json"] {
            let path = model.appendingPathComponent(name).path
            try FileManager.default.moveItem(atPath: path, toPath: path + ".real")
            XCTAssertEqual(mkfifo(path, 0o644), 0)
            try assertRefused(["generate", "--model", model.path, "--prompt", "a", "--width", "16", "--height", "16", "--steps", "1",
                               "--output", output], status: 1, naming: [name, "FIFO"], leaving: folder)
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.moveItem(atPath: path + ".real", toPath: path)
        }
    }

    func testThreadCountsAreBounded() throws {
        let folder = try Fixtures.temporaryDirectory(for: self)
        let input = folder.appendingPathComponent("input.safetensors").path
        try FileManager.default.copyItem(atPath: mergeFixture.path, toPath: input)
        let base = ["merge", "--input", input, "--key", "x", "--height", "8", "--width", "8", "--ratio", "0.5",
                    "--output", folder.appendingPathComponent("out.safetensors").path]
        // Counts a build without the bound would really try stay small (1025): 40000 threads would exhaust the
        // machine's thread limit for every process.
        for threads in ["1025", "9223372036854775807", "0", "-3", "many", ""] {
            try assertRefused(base + ["--threads", threads], naming: ["option --threads", "got '\(threads)'"], leaving: folder)
        }
        for threads in ["1025", "0", "x"] {
            try assertRefused(base + ["--threads", "1"], naming: ["TOMESD_NUM_THREADS", "got '\(threads)'"], leaving: folder,
                              environment: ["TOMESD_NUM_THREADS": threads])
        }
        let run = try runTool(base + ["--threads", "3"])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    /// SIGTERM and SIGINT while generating: the process ends as the signal says, a pre-existing output is as it
    /// was, and no temporary file is left in the folder.
    func testSignalsLeaveNoTemporaryFile() throws {
        for (signal, status) in [(SIGTERM, SIGTERM), (SIGHUP, SIGHUP), (SIGINT, 130)] {
            let folder = try Fixtures.temporaryDirectory(for: self)
            let image = folder.appendingPathComponent("image.png").path
            try Data("an older image".utf8).write(to: URL(fileURLWithPath: image))
            let before = try snapshot(folder)
            let run = try runTool(["generate", "--prompt", "a cat", "--width", "16", "--height", "16", "--steps", "900", "--output", image,
                                   "--save-latents", folder.appendingPathComponent("latents.safetensors").path],
                                  interruptAfter: "step 2/", signal: signal)
            XCTAssertEqual(run.status, status, "signal \(signal): \(run.stderr)")
            XCTAssertEqual(try snapshot(folder), before, "signal \(signal)")
        }
    }
}
