import DiffusionPatch
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// Token Merging on SDXL: the patched SDXL pipeline against diffusers + tomesd (`make_sdxl_pipeline_fixtures.py`),
/// the notice that a patch merges nothing (SDXL at maxDownsample 1), and "the highest-resolution level with
/// attention". The patched SDXL UNet at maxDownsample 2 and 4 is in ``PatchParityTests`` (cases `sdxl3-*`).
final class SDXLPatchTests: XCTestCase {
    func testPatchedPipelineMatchesDiffusersWithTomesd() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sdxl"))
        let reference = try PipelineFixtures.tensors("sdxl")
        let cases = try PipelineFixtures.cases("sdxl").cases.filter { $0.tome != nil }
        XCTAssertFalse(cases.isEmpty)
        for testCase in cases {
            let arguments = try XCTUnwrap(testCase.tome)
            let patch = try applyPatch(pipeline, ratio: arguments.ratio, maxDownsample: arguments.maxDownsample,
                                       useRandom: false)
            XCTAssertFalse(patch.mergesNothing)
            let result = try pipeline.generate(try PipelineFixtures.configuration(testCase, reference))
            XCTAssertGreaterThan(patch.statistics.tokensMerged, 0, testCase.name)
            try assertMatchesReference(result, testCase, reference, "sdxl")
            removePatch(pipeline)
        }
    }

    func testMergesNothingIsComputedFromTheModelsLevels() throws {
        let sdxl = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sdxl"))
        XCTAssertEqual(sdxl.unet.config.attentionDownsampleFactors, [2, 4])
        XCTAssertTrue(try applyPatch(sdxl, ratio: 0.5).mergesNothing)
        XCTAssertFalse(try applyPatch(sdxl, ratio: 0.5, maxDownsample: 2).mergesNothing)
        XCTAssertTrue(try applyPatch(sdxl, ratio: 0, maxDownsample: 4).mergesNothing)
        XCTAssertTrue(try applyPatch(sdxl, ratio: 0.5, maxDownsample: 4, mergeAttention: false).mergesNothing)

        let sd1 = try StableDiffusionPipeline.builtInDemo()
        XCTAssertEqual(sd1.unet.config.attentionDownsampleFactors, [1, 2])
        XCTAssertFalse(try applyPatch(sd1, ratio: 0.5).mergesNothing)
        XCTAssertEqual(UNetConfig.stableDiffusion15.attentionDownsampleFactors, [1, 2, 4, 8])
    }

    /// With the option set, the patch's maxDownsample is the model's highest-resolution attention level: 2 on SDXL
    /// (which then merges exactly as maxDownsample 2), 1 on SD 1.x.
    func testFollowingTheHighestAttentionLevel() throws {
        let sdxl = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sdxl"))
        XCTAssertEqual(ToMeOptions.highestAttentionLevel(of: sdxl), 2)
        XCTAssertEqual(ToMeOptions.highestAttentionLevel(of: try StableDiffusionPipeline.builtInDemo()), 1)

        var options = try ToMeOptions(ratio: 0.5, useRandom: false)
        options.followsHighestAttentionLevel = true
        let patch = try applyPatch(sdxl, options: options)
        XCTAssertEqual(patch.options.maxDownsample, 2)
        XCTAssertFalse(patch.mergesNothing)
        let automatic = try sdxl.generate(prompt: "a cat").latents
        try applyPatch(sdxl, ratio: 0.5, maxDownsample: 2, useRandom: false)
        XCTAssertEqual(try sdxl.generate(prompt: "a cat").latents, automatic)
        removePatch(sdxl)
        XCTAssertNotEqual(try sdxl.generate(prompt: "a cat").latents, automatic)
    }

    /// Token Downsampling follows the same level: on SDXL at maxDownsample 1 it acts nowhere (and says so), with the
    /// option set it downsamples at 2, exactly as maxDownsample 2 (which ``ToDoParityTests`` holds to the reference).
    func testToDoFollowsTheHighestAttentionLevel() throws {
        let sdxl = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sdxl"))
        XCTAssertTrue(try applyTokenDownsampling(sdxl).downsamplesNothing)
        XCTAssertFalse(try applyTokenDownsampling(sdxl, maxDownsample: 2).downsamplesNothing)
        XCTAssertTrue(try applyTokenDownsampling(sdxl, factor: 1, maxDownsample: 2).downsamplesNothing)
        XCTAssertFalse(try applyTokenDownsampling(try StableDiffusionPipeline.builtInDemo()).downsamplesNothing)

        var options = try ToDoOptions()
        options.followsHighestAttentionLevel = true
        let patch = try applyTokenDownsampling(sdxl, options: options)
        XCTAssertEqual(patch.options.maxDownsample, 2)
        XCTAssertFalse(patch.downsamplesNothing)
        let automatic = try sdxl.generate(prompt: "a cat").latents
        XCTAssertGreaterThan(patch.statistics.tokensRemoved, 0)
        try applyTokenDownsampling(sdxl, maxDownsample: 2)
        XCTAssertEqual(try sdxl.generate(prompt: "a cat").latents, automatic)
        removeTokenDownsampling(sdxl)
        XCTAssertNotEqual(try sdxl.generate(prompt: "a cat").latents, automatic)
    }

    /// Both pipelines report diffusers' default size: `unet.config.sample_size × vae_scale_factor`
    /// (`default_sample_size * vae_scale_factor` in diffusers' `__call__`).
    func testDefaultImageSizeIsDiffusers() throws {
        let sdxl = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sdxl"))
        XCTAssertEqual(sdxl.unet.config.sampleSize, 8)
        XCTAssertEqual(sdxl.vaeScaleFactor, 4)
        XCTAssertEqual(sdxl.defaultImageSize, 32)
        XCTAssertEqual(try StableDiffusionPipeline.builtInDemo().defaultImageSize, 512)
        XCTAssertEqual(UNetConfig.stableDiffusionXL.sampleSize.map { $0 * 8 }, 1024)
    }
}

extension StableDiffusionXLPipeline {
    /// A short generation: 32 × 32, 2 Euler steps, guidance 5.
    func generate(prompt: String) throws -> GenerationResult {
        var configuration = GenerationConfiguration(prompt: prompt)
        (configuration.width, configuration.height, configuration.steps, configuration.guidanceScale) = (32, 32, 2, 5)
        return try generate(configuration)
    }
}
