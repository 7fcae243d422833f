import Foundation
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The whole pipeline against diffusers' `StableDiffusionPipeline` (fixtures: `make_pipeline_fixtures.py`): every
/// scheduler preset with guidance on and off, seeded and with explicit initial latents, SD 1 and SD 2 style.
final class PipelineTests: XCTestCase {
    func testMatchesDiffusersSD1() throws { try checkAllCases("sd1") }

    func testMatchesDiffusersSD2VPrediction() throws { try checkAllCases("sd2") }

    private func checkAllCases(_ style: String) throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder(style))
        let reference = try PipelineFixtures.tensors(style)
        for testCase in try PipelineFixtures.cases(style).cases {
            let result = try pipeline.generate(try PipelineFixtures.configuration(testCase, reference))
            let label = "\(style) \(testCase.name)"
            assertClose(result.latents.scalars, try reference.tensor("\(testCase.name).latents").scalars, tolerance: 1e-3,
                        "\(label) final latents")
            XCTAssertEqual(result.latents.shape, try reference.tensor("\(testCase.name).latents").shape, label)
            let expected = try reference.integers("\(testCase.name).image").map { UInt8($0) }
            assertImagesMatch(result.images[0], expected, width: testCase.width, height: testCase.height, label)
            XCTAssertEqual(result.timings.unetSteps, testCase.steps + (testCase.scheduler == "pndm" ? 1 : 0), label)
        }
    }

    /// A prompt over 77 tokens is truncated as diffusers truncates it, and the dropped text is reported.
    func testLongPromptIsTruncatedAndReported() throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder("sd1"))
        let long = try XCTUnwrap(try PipelineFixtures.cases("sd1").cases.first { $0.name == "long-prompt" })
        let dropped = try XCTUnwrap(pipeline.truncatedPart(of: long.prompt))
        XCTAssertTrue(dropped.hasPrefix("iled painting of a small house"), dropped)
        XCTAssertNil(pipeline.truncatedPart(of: "a small house"))
        let result = try pipeline.generate(prompt: long.prompt, width: 16, height: 16, steps: 1)
        XCTAssertEqual(result.truncatedPrompt, dropped)
        XCTAssertNil(result.truncatedNegativePrompt)
    }

    /// The callback sees every step with the current latents; cancelling throws the typed error at once.
    func testProgressReportsEveryStepAndCancels() throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder("sd1"))
        var reports: [GenerationProgress] = []
        let result = try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 3, scheduler: .ddim) {
            reports.append($0)
            return .proceed
        }
        XCTAssertEqual(reports.map(\.step), [1, 2, 3])
        XCTAssertEqual(reports.map(\.totalSteps), [3, 3, 3])
        XCTAssertEqual(reports.last?.latents, result.latents)
        XCTAssertTrue(zip(reports, reports.dropFirst()).allSatisfy { $0.elapsed <= $1.elapsed })

        var calls = 0
        XCTAssertThrowsError(try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 5, scheduler: .pndm) { _ in
            calls += 1
            return calls == 2 ? .cancel : .proceed
        }) { XCTAssertEqual($0 as? PipelineError, .cancelled(completedSteps: 2, totalSteps: 6)) }
        XCTAssertEqual(calls, 2)
    }

    /// Releasing the text encoder between generations changes nothing in the result.
    func testReleasingTheTextEncoderGivesTheSameImage() throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder("sd2"))
        let first = try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 2, seed: 9)
        pipeline.releasesTextEncoderAfterUse = true
        let second = try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 2, seed: 9)
        let third = try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 2, seed: 9)
        XCTAssertEqual(first.latents, second.latents)
        XCTAssertEqual(second.images, third.images)
    }

    func testRejectsBadParameters() throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder("sd1"))
        func check(_ change: (inout GenerationConfiguration) -> Void, _ name: String, _ fragment: String,
                   line: UInt = #line) {
            var configuration = GenerationConfiguration(prompt: "a cat")
            configuration.width = 16
            configuration.height = 16
            change(&configuration)
            XCTAssertThrowsError(try pipeline.generate(configuration), line: line) { error in
                guard case let .invalidParameter(actualName, reason)? = error as? PipelineError else {
                    return XCTFail("\(error)", line: line)
                }
                XCTAssertEqual(actualName, name, line: line)
                XCTAssertTrue(reason.contains(fragment), reason, line: line)
            }
        }
        check({ $0.width = 20 }, "width", "multiple of 8, got 20")
        check({ $0.height = 0 }, "height", "got 0")
        check({ $0.steps = 0 }, "steps", "at least 1")
        check({ $0.width = 100_000 }, "width", "at most 8192, got 100000")
        check({ $0.steps = Int.max }, "steps", "at most 100000")
        // The largest image accepted by size alone is refused before anything is allocated when its activations
        // cannot fit (on a machine with the memory for it, this part of the test has nothing to refuse).
        let latent = 8192 / pipeline.vaeScaleFactor
        let needed = max(pipeline.vae.config.estimatedDecodeActivationBytes(height: 8192, width: 8192) ?? .max,
                         pipeline.unet.config.estimatedActivationBytes(batch: 2, height: latent, width: latent,
                                                                       attention: pipeline.unet.attentionImplementation) ?? .max)
        if needed > CheckedSize.physicalMemoryBytes {
            check({ $0.width = 8192; $0.height = 8192 }, "width and height", "more than this machine's")
        }
        check({ $0.guidanceScale = .nan }, "guidance scale", "finite")
        check({ $0.initialLatents = Tensor(zeros: [1, 4, 5, 4]) }, "initial latents", "expected shape [1, 4, 4, 4]")
        check({ $0.initialLatents = try! Tensor(shape: [1, 4, 4, 4], scalars: [.nan] + Array(repeating: 0, count: 63)) },
              "initial latents", "NaN")
        XCTAssertThrowsError(try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 2000)) {
            XCTAssertEqual($0 as? SchedulerError, .invalidStepCount(2000, trainTimesteps: 1000))
        }
    }

    /// Each required part of the folder, missing, is named in the error.
    func testMissingFolderPartsAreNamed() throws {
        for part in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
            let folder = try PipelineFixtures.copy("sd1", for: self)
            try FileManager.default.removeItem(at: folder.appendingPathComponent(part))
            XCTAssertThrowsError(try StableDiffusionPipeline(folder: folder), part) {
                XCTAssertEqual($0 as? PipelineError, .missingComponent(folder: folder.path, component: part, reason: "no \(part)/ folder"))
            }
        }
        let folder = try PipelineFixtures.copy("sd1", for: self)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("vae/config.json"))
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: folder)) {
            XCTAssertEqual($0 as? WeightError, .missingFile(path: folder.appendingPathComponent("vae").path, reason: "no config.json"))
        }
        try FileManager.default.removeItem(at: folder.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model_index.json"))
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: folder)) {
            XCTAssertEqual($0 as? PipelineError, .missingComponent(folder: folder.path, component: "model_index.json",
                                                                   reason: "not a diffusers pipeline folder"))
        }
        // A folder that is not there is named as such, not as one missing its model_index.json.
        let nowhere = folder.appendingPathComponent("nowhere")
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: nowhere)) {
            XCTAssertEqual($0 as? WeightError, .missingFile(path: nowhere.path, reason: "does not exist"))
        }
    }

    func testModelIndexErrors() throws {
        let folder = try PipelineFixtures.copy("sd1", for: self)
        let index = folder.appendingPathComponent("model_index.json")
        let original = try String(contentsOf: index, encoding: .utf8)
        try original.replacingOccurrences(of: "\"StableDiffusionPipeline\"", with: "\"StableDiffusionXLPipeline\"")
            .write(to: index, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: folder)) {
            XCTAssertTrue("\($0)".contains("pipeline class StableDiffusionXLPipeline is not supported"), "\($0)")
        }
        try original.replacingOccurrences(of: "\"UNet2DConditionModel\"", with: "null")
            .write(to: index, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: folder)) {
            XCTAssertEqual($0 as? PipelineError, .missingComponent(folder: folder.path, component: "unet",
                                                                   reason: "model_index.json does not list it"))
        }
    }

    /// A scheduler class this package lacks fails when it would be used, naming it; a preset still works.
    func testUnknownSchedulerClass() throws {
        let folder = try PipelineFixtures.copy("sd1", for: self)
        let config = folder.appendingPathComponent("scheduler/scheduler_config.json")
        try String(contentsOf: config, encoding: .utf8)
            .replacingOccurrences(of: "\"PNDMScheduler\"", with: "\"LMSDiscreteScheduler\"")
            .write(to: config, atomically: true, encoding: .utf8)
        let pipeline = try StableDiffusionPipeline(folder: folder)
        XCTAssertThrowsError(try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 1)) {
            XCTAssertEqual($0 as? SchedulerError, .unknownClass("LMSDiscreteScheduler"))
        }
        XCTAssertNoThrow(try pipeline.generate(prompt: "a cat", width: 16, height: 16, steps: 1, scheduler: .euler))
    }

    /// Components that do not fit together are refused with the reason.
    func testIncompatibleComponents() throws {
        let folder = PipelineFixtures.folder("sd1")
        let tokenizer = try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer"))
        let vae = try AutoencoderKL.load(from: folder.appendingPathComponent("vae"))
        let unet = try UNet2DConditionModel.load(from: folder.appendingPathComponent("unet"))
        var textConfig = try CLIPTextConfig.load(from: folder.appendingPathComponent("text_encoder/config.json"))
        textConfig.hiddenSize = 16
        let narrow = try CLIPTextModel(config: textConfig, seed: 1)
        XCTAssertThrowsError(try StableDiffusionPipeline(tokenizer: tokenizer, textEncoder: narrow, unet: unet, vae: vae,
                                                         schedulerConfig: SchedulerConfig())) {
            XCTAssertTrue("\($0)".contains("cross_attention_dim [32] differs from the text encoder's hidden_size 16"), "\($0)")
        }
        textConfig.hiddenSize = 32
        textConfig.vocabSize = 100
        let smallVocabulary = try CLIPTextModel(config: textConfig, seed: 1)
        XCTAssertThrowsError(try StableDiffusionPipeline(tokenizer: tokenizer, textEncoder: smallVocabulary, unet: unet, vae: vae,
                                                         schedulerConfig: SchedulerConfig())) {
            XCTAssertTrue("\($0)".contains("outside the text encoder's vocabulary of 100"), "\($0)")
        }
    }
}
