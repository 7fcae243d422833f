import Foundation
import ImageFiles
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The SDXL pipeline against diffusers' `StableDiffusionXLPipeline` (fixtures: `make_sdxl_pipeline_fixtures.py`):
/// two text encoders of different widths, zeroed and encoded negative prompts, guidance on and off, non-square
/// sizes, every scheduler preset, seeded and with explicit initial latents. The Token Merging case is in
/// DiffusionPatchTests (this target does not link the patch).
final class SDXLPipelineTests: XCTestCase {
    private let style = "sdxl"

    func testPromptEncodingMatchesDiffusers() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder(style))
        let reference = try PipelineFixtures.tensors(style)
        for (index, prompt) in try PipelineFixtures.cases(style).textPrompts.enumerated() {
            var configuration = GenerationConfiguration(prompt: prompt)
            configuration.guidanceScale = 1
            let encoded = try pipeline.encodePrompts(configuration)
            let embeds = try reference.tensor("text.\(index).prompt_embeds")
            XCTAssertEqual(encoded.embeddings.shape, embeds.shape)
            assertClose(encoded.embeddings.scalars, embeds.scalars, tolerance: 1e-4, "prompt \(index) prompt_embeds")
            let pooled = try reference.tensor("text.\(index).pooled")
            XCTAssertEqual(encoded.textTime?.textEmbeds.shape, pooled.shape)
            assertClose(try XCTUnwrap(encoded.textTime).textEmbeds.scalars, pooled.scalars, tolerance: 1e-4,
                        "prompt \(index) pooled text_embeds")
        }
    }

    func testMatchesDiffusers() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder(style))
        let reference = try PipelineFixtures.tensors(style)
        let cases = try PipelineFixtures.cases(style).cases.filter { $0.tome == nil }
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        for testCase in cases {
            let result = try pipeline.generate(try PipelineFixtures.configuration(testCase, reference))
            try assertMatchesReference(result, testCase, reference, style)
        }
    }

    /// `force_zeros_for_empty_prompt` applies to a missing negative prompt only: "" is encoded, and a pipeline
    /// built with the flag off encodes the missing one as "" too.
    func testZeroNegativeEmbeddingsOnlyWithoutANegativePrompt() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder(style))
        var configuration = GenerationConfiguration(prompt: "a cat")
        configuration.guidanceScale = 5
        let zeroed = try pipeline.encodePrompts(configuration)
        XCTAssertEqual(zeroed.embeddings.shape[0], 2)
        let half = zeroed.embeddings.count / 2
        XCTAssertTrue(zeroed.embeddings.scalars[..<half].allSatisfy { $0 == 0 })
        XCTAssertTrue(try XCTUnwrap(zeroed.textTime).textEmbeds.scalars.prefix(16).allSatisfy { $0 == 0 })
        XCTAssertEqual(try XCTUnwrap(zeroed.textTime).timeIds.scalars, [512, 512, 0, 0, 512, 512, 512, 512, 0, 0, 512, 512])

        configuration.negativePrompt = ""
        let encoded = try pipeline.encodePrompts(configuration)
        XCTAssertFalse(encoded.embeddings.scalars[..<half].allSatisfy { $0 == 0 })
        XCTAssertEqual(Array(encoded.embeddings.scalars[half...]), Array(zeroed.embeddings.scalars[half...]))

        let unforced = try StableDiffusionXLPipeline(
            tokenizer: pipeline.tokenizer, tokenizer2: pipeline.tokenizer2,
            textEncoders: try pipeline.textEncoders.get(name: "text encoders"), unet: pipeline.unet, vae: pipeline.vae,
            schedulerConfig: pipeline.schedulerConfig, forceZerosForEmptyPrompt: false)
        configuration.negativePrompt = nil
        XCTAssertEqual(try unforced.encodePrompts(configuration).embeddings, encoded.embeddings)
    }

    /// The folder's class picks the pipeline; an SD folder is refused by the SDXL loader and the other way round.
    func testModelIndexPicksThePipeline() throws {
        XCTAssertTrue(try loadTextToImagePipeline(folder: PipelineFixtures.folder(style)) is StableDiffusionXLPipeline)
        XCTAssertTrue(try loadTextToImagePipeline(folder: PipelineFixtures.folder("sd1")) is StableDiffusionPipeline)
        XCTAssertThrowsError(try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sd1"))) {
            guard case PipelineError.unsupportedPipeline(_, let reason)? = $0 as? PipelineError else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(reason.contains("StableDiffusionPipeline"), reason)
        }
        XCTAssertThrowsError(try StableDiffusionPipeline(folder: PipelineFixtures.folder(style))) {
            XCTAssertTrue("\($0)".contains("StableDiffusionXLPipeline is not StableDiffusionPipeline"), "\($0)")
        }
    }

    /// A folder without `text_encoder_2/` names the missing component.
    func testMissingSecondTextEncoderIsNamed() throws {
        let copy = try PipelineFixtures.copy(style, for: self)
        try FileManager.default.removeItem(at: copy.appendingPathComponent("text_encoder_2"))
        XCTAssertThrowsError(try loadTextToImagePipeline(folder: copy)) {
            XCTAssertEqual($0 as? PipelineError,
                           .missingComponent(folder: copy.path, component: "text_encoder_2", reason: "no text_encoder_2/ folder"))
        }
    }

    /// A VAE with latent statistics (which diffusers' SDXL pipeline would apply) is refused, naming them.
    func testVAELatentStatisticsAreRefused() throws {
        let copy = try PipelineFixtures.copy(style, for: self)
        let config = copy.appendingPathComponent("vae/config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "\"latents_mean\": null", with: "\"latents_mean\": [0, 0, 0, 0]")
            .write(to: config, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try StableDiffusionXLPipeline(folder: copy)) {
            XCTAssertTrue("\($0)".contains("latents_mean"), "\($0)")
        }
    }

    /// An init image of a size the VAE cannot take is refused by name, before any work; several images per prompt
    /// run as one batch. (Image-to-image against diffusers: ImageToImageTests.)
    func testBadInitImageIsNamedAndImagesPerPromptBatch() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder(style))
        var configuration = GenerationConfiguration(prompt: "a cat")
        configuration.initImage = try RGBImage(width: 16, height: 12, pixels: [UInt8](repeating: 128, count: 16 * 12 * 3))
        XCTAssertThrowsError(try pipeline.generate(configuration)) {
            guard case PipelineError.invalidParameter(let name, _)? = $0 as? PipelineError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "init image height")
        }
        configuration.initImage = nil
        (configuration.width, configuration.height, configuration.steps, configuration.imagesPerPrompt) = (16, 16, 2, 2)
        let result = try pipeline.generate(configuration)
        XCTAssertEqual(result.images.count, 2)
        XCTAssertEqual(result.latents.shape, [2, 4, 4, 4])
    }

    /// Releasing the text encoders between generations changes nothing in the result.
    func testReleasingTheTextEncodersGivesTheSameImage() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder(style))
        let first = try pipeline.generate(prompt: "a cat")
        pipeline.releasesTextEncoderAfterUse = true
        XCTAssertEqual(try pipeline.generate(prompt: "a cat").latents, first.latents)
        XCTAssertEqual(try pipeline.generate(prompt: "a cat").latents, first.latents)
    }
}

extension StableDiffusionXLPipeline {
    /// A short generation for tests: 16 × 16, 2 Euler steps, guidance 5.
    func generate(prompt: String) throws -> GenerationResult {
        var configuration = GenerationConfiguration(prompt: prompt)
        (configuration.width, configuration.height, configuration.steps, configuration.guidanceScale) = (16, 16, 2, 5)
        return try generate(configuration)
    }
}
