import Foundation
import ImageFiles
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// Image-to-image and several images per prompt against diffusers' `StableDiffusionImg2ImgPipeline` and
/// `num_images_per_prompt` (fixtures: `make_img2img_fixtures.py`): strengths 0.3, 0.75 and 1, every scheduler
/// preset, one and two images, SD 1 and SD 2 style. (The Token Merging case is in DiffusionPatchTests.)
final class ImageToImageTests: XCTestCase {
    func testMatchesDiffusersSD1() throws { try checkAllCases("sd1") }

    func testMatchesDiffusersSD2VPrediction() throws { try checkAllCases("sd2") }

    /// diffusers' `StableDiffusionXLImg2ImgPipeline` on the tiny SDXL folder (`make_sdxl_img2img_fixtures.py`): the
    /// size conditioning takes the init image's size; zero, empty and given negative prompts; guidance 1 and more.
    func testMatchesDiffusersSDXL() throws {
        let pipeline = try StableDiffusionXLPipeline(folder: PipelineFixtures.folder("sdxl"))
        try checkAllCases("sdxl", minimumCases: 5) { try pipeline.generate($0, progress: $1) }
    }

    private func checkAllCases(_ style: String, minimumCases: Int = 8) throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder(style))
        try checkAllCases(style, minimumCases: minimumCases) { try pipeline.generate($0, progress: $1) }
    }

    private func checkAllCases(_ style: String, minimumCases: Int,
                               generate: (GenerationConfiguration, @escaping (GenerationProgress) -> ProgressAction) throws -> GenerationResult) throws {
        let reference = try ImageToImageFixtures.tensors(style)
        let initImage = try ImageToImageFixtures.initImage(style)
        let cases = try ImageToImageFixtures.cases(style).filter { $0.tome == nil }
        XCTAssertGreaterThanOrEqual(cases.count, minimumCases)
        for testCase in cases {
            let configuration = try Self.configuration(testCase, initImage: initImage)
            var reports: [GenerationProgress] = []
            let result = try generate(configuration) { reports.append($0); return .proceed }
            let label = "\(style) \(testCase.name)"
            try ImageToImageFixtures.assertMatches(latents: result.latents, images: result.images, testCase, reference, label)
            let pndmExtra = testCase.scheduler == "pndm" ? 1 : 0
            let expectedSteps = testCase.isImageToImage
                ? min(Int(Double(testCase.steps) * (testCase.strength ?? 1)), testCase.steps) + pndmExtra
                : testCase.steps + pndmExtra
            XCTAssertEqual(result.timings.unetSteps, expectedSteps, label)
            XCTAssertEqual(result.initialLatents.shape, result.latents.shape, "\(label) noise shape")
            XCTAssertEqual(result.timings.imageEncoding.wall > 0, testCase.isImageToImage, "\(label) encoding time")
            XCTAssertEqual(reports.last?.totalSteps, expectedSteps, label)
        }
    }

    static func configuration(_ testCase: ImageToImageFixtures.Case, initImage: RGBImage) throws -> GenerationConfiguration {
        var configuration = GenerationConfiguration(prompt: testCase.prompt)
        configuration.negativePrompt = testCase.negativePrompt
        configuration.steps = testCase.steps
        configuration.guidanceScale = testCase.guidance
        configuration.seed = testCase.seed
        configuration.scheduler = try XCTUnwrap(SchedulerPreset(rawValue: testCase.scheduler))
        configuration.imagesPerPrompt = testCase.numImages
        if testCase.isImageToImage {  // the size is the image's: width and height stay at their defaults
            configuration.initImage = initImage
            configuration.strength = try XCTUnwrap(testCase.strength)
        } else {
            (configuration.width, configuration.height) = (testCase.width, testCase.height)
        }
        return configuration
    }

    /// diffusers' `get_timesteps`: ⌊steps · strength⌋ steps run (in Double, as Python computes it).
    func testSkippedStepsFollowDiffusers() {
        var configuration = GenerationConfiguration(prompt: "")
        XCTAssertEqual(configuration.skippedSteps, 0, "text-to-image skips nothing")
        configuration.initImage = try? RGBImage(width: 8, height: 8, pixels: [UInt8](repeating: 0, count: 192))
        for (steps, strength, skipped) in [(4, 0.75, 1), (7, 0.3, 5), (3, 1.0, 0), (10, 0.7, 3), (50, 0.8, 10), (10, 0.29, 8)] {
            configuration.steps = steps
            configuration.strength = strength
            XCTAssertEqual(configuration.skippedSteps, skipped, "steps \(steps) strength \(strength)")
        }
    }

    /// Bad strengths, counts and combinations are rejected before any work, naming the parameter.
    func testInvalidParametersAreNamed() throws {
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder("sd1"))
        let image = try ImageToImageFixtures.initImage("sd1")
        func rejects(_ name: String, _ change: (inout GenerationConfiguration) throws -> Void, line: UInt = #line) throws {
            var configuration = GenerationConfiguration(prompt: "a cat")
            configuration.steps = 4
            configuration.initImage = image
            try change(&configuration)
            XCTAssertThrowsError(try pipeline.generate(configuration), line: line) { error in
                guard case let PipelineError.invalidParameter(named, _)? = error as? PipelineError else {
                    return XCTFail("\(error)", line: line)
                }
                XCTAssertEqual(named, name, line: line)
            }
        }
        for strength in [0, -0.5, 1.01, .nan, .infinity, 0.2] {
            try rejects("strength") { $0.strength = strength }
        }
        try rejects("images per prompt") { $0.imagesPerPrompt = 0 }
        try rejects("images per prompt") { $0.imagesPerPrompt = 17 }
        try rejects("initial latents") { $0.initialLatents = Tensor(zeros: [1, 4, 8, 8]) }
        try rejects("init image width") { $0.initImage = try RGBImage(width: 12, height: 8, pixels: [UInt8](repeating: 0, count: 288)) }
        try rejects("initial latents") {
            $0.initImage = nil
            $0.width = 32
            $0.height = 32
            $0.imagesPerPrompt = 2
            $0.initialLatents = Tensor(zeros: [1, 4, 8, 8])
        }
    }

    /// The scheduler's `add_noise` and begin index, against diffusers' formulas for each family.
    func testAddNoiseAtTheBeginIndex() throws {
        let config = try SchedulerConfig(contentsOf: PipelineFixtures.folder("sd1").appendingPathComponent("scheduler/scheduler_config.json"))
        let original = try Tensor(shape: [1, 2], scalars: [1, -2]), noise = try Tensor(shape: [1, 2], scalars: [0.5, 3])
        var euler = try SchedulerPreset.euler.make(config: config, steps: 4)
        try euler.setBeginIndex(2)
        XCTAssertEqual(euler.stepIndex, 2)
        let sigma = try XCTUnwrap((euler as? EulerDiscreteScheduler)?.schedule.sigmas[2])
        XCTAssertEqual(try euler.addNoise(to: original, noise: noise).scalars, [1 + 0.5 * sigma, -2 + 3 * sigma])
        var ddim = try SchedulerPreset.ddim.make(config: config, steps: 4)
        try ddim.setBeginIndex(1)
        let noised = try ddim.addNoise(to: original, noise: noise).scalars
        XCTAssertLessThan(abs(noised[0]), 1 + 0.5, "ᾱ < 1 shrinks the signal")
        XCTAssertThrowsError(try ddim.setBeginIndex(4))
        XCTAssertThrowsError(try ddim.setBeginIndex(-1))
    }
}
