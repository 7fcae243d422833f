import ImageFiles
import StableDiffusion
import TensorCore
import XCTest

extension PipelineFixtures {
    /// The generation configuration of a case, its initial latents read from `reference` when it has them.
    public static func configuration(_ testCase: Case, _ reference: SafeTensorsFile) throws -> GenerationConfiguration {
        var configuration = GenerationConfiguration(prompt: testCase.prompt)
        configuration.negativePrompt = testCase.negativePrompt
        configuration.width = testCase.width
        configuration.height = testCase.height
        configuration.steps = testCase.steps
        configuration.guidanceScale = testCase.guidance
        configuration.seed = testCase.seed
        configuration.scheduler = try XCTUnwrap(SchedulerPreset(rawValue: testCase.scheduler))
        if testCase.initialLatents {
            configuration.initialLatents = try reference.tensor("\(testCase.name).initial_latents")
        }
        return configuration
    }
}

/// Asserts the bars for a generation against diffusers' run of `testCase`: final latents within 1e-3
/// max-abs, the image within 1/255 on 99.9 % of its bytes, and one UNet call per scheduler timestep.
public func assertMatchesReference(_ result: GenerationResult, _ testCase: PipelineFixtures.Case,
                                   _ reference: SafeTensorsFile, _ style: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
    let label = "\(style) \(testCase.name)"
    let latents = try reference.tensor("\(testCase.name).latents")
    XCTAssertEqual(result.latents.shape, latents.shape, label, file: file, line: line)
    assertClose(result.latents.scalars, latents.scalars, tolerance: 1e-3, "\(label) final latents", file: file, line: line)
    let expected = try reference.integers("\(testCase.name).image").map { UInt8($0) }
    assertImagesMatch(result.images[0], expected, width: testCase.width, height: testCase.height, label, file: file, line: line)
    XCTAssertEqual(result.timings.unetSteps, testCase.steps + (testCase.scheduler == "pndm" ? 1 : 0), label,
                   file: file, line: line)
}
