import StableDiffusion
import TensorCore
import TestSupport
import XCTest

extension PipelineFixtures {
    /// The generation settings of a case (with its initial latents when it has them).
    static func configuration(_ testCase: PipelineFixtures.Case, _ reference: SafeTensorsFile) throws -> GenerationConfiguration {
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
