import DiffusionPatch
import Foundation
import StableDiffusion
import TestSupport
import XCTest

/// Token Merging on image-to-image, against diffusers' `StableDiffusionImg2ImgPipeline` patched by
/// `tomesd.apply_patch(pipe, ratio, use_rand=False)` (fixtures: `make_img2img_fixtures.py`).
final class ImageToImagePatchTests: XCTestCase {
    func testMatchesTomesdOnDiffusersImageToImage() throws {
        for style in PipelineFixtures.styles {
            let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder(style))
            let reference = try ImageToImageFixtures.tensors(style)
            let cases = try ImageToImageFixtures.cases(style).filter { $0.tome != nil }
            XCTAssertFalse(cases.isEmpty, style)
            for testCase in cases {
                var configuration = GenerationConfiguration(prompt: testCase.prompt)
                configuration.negativePrompt = testCase.negativePrompt
                configuration.steps = testCase.steps
                configuration.guidanceScale = testCase.guidance
                configuration.seed = testCase.seed
                configuration.scheduler = try XCTUnwrap(SchedulerPreset(rawValue: testCase.scheduler))
                configuration.imagesPerPrompt = testCase.numImages
                configuration.initImage = try ImageToImageFixtures.initImage(style)
                configuration.strength = try XCTUnwrap(testCase.strength)
                let patch = try applyPatch(pipeline, ratio: try XCTUnwrap(testCase.tome), useRandom: false)
                let result = try pipeline.generate(configuration)
                removePatch(pipeline)
                XCTAssertGreaterThan(patch.statistics.tokensMerged, 0, "\(style) \(testCase.name): tokens must merge")
                try ImageToImageFixtures.assertMatches(latents: result.latents, images: result.images, testCase, reference,
                                                       "\(style) \(testCase.name)")
                let unpatched = try pipeline.generate(configuration)
                XCTAssertNotEqual(unpatched.latents, result.latents, "\(style) \(testCase.name): the patch changes the result")
            }
        }
    }
}
