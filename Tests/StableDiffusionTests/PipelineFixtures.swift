import Foundation
import StableDiffusion
import TensorCore
import XCTest

/// The pipeline reference fixtures `Tests/Fixtures/sd/pipeline-sd1` and `pipeline-sd2` (written by
/// `Scripts/reference/make_pipeline_fixtures.py`): tiny random diffusers pipeline folders with the results of
/// diffusers runs.
enum PipelineFixtures {
    /// The two styles.
    static let styles = ["sd1", "sd2"]

    /// The model folder of a style.
    static func folder(_ style: String) -> URL { Fixtures.url("pipeline-\(style)") }

    /// The reference tensors of a style.
    static func tensors(_ style: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: folder(style).appendingPathComponent("cases.safetensors"))
    }

    /// The cases of a style, as `cases.json` lists them.
    static func cases(_ style: String) throws -> Cases {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: folder(style).appendingPathComponent("cases.json")))
    }

    /// `cases.json`.
    struct Cases: Decodable {
        let textPrompts: [String]
        let cases: [Case]

        enum CodingKeys: String, CodingKey {
            case textPrompts = "text_prompts"
            case cases
        }
    }

    /// One diffusers run.
    struct Case: Decodable {
        let name: String
        let prompt: String
        let negativePrompt: String?
        let width: Int
        let height: Int
        let steps: Int
        let guidance: Float
        let seed: UInt64
        let scheduler: String
        let initialLatents: Bool

        enum CodingKeys: String, CodingKey {
            case name, prompt, width, height, steps, guidance, seed, scheduler
            case negativePrompt = "negative_prompt"
            case initialLatents = "initial_latents"
        }
    }

    /// A copy of a style's folder in a temporary folder (removed after the test), for tests that break it.
    static func copy(_ style: String, for testCase: XCTestCase) throws -> URL {
        let copy = try Fixtures.temporaryDirectory(for: testCase).appendingPathComponent("pipeline")
        try FileManager.default.copyItem(at: folder(style), to: copy)
        return copy
    }

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

/// Asserts that two 8-bit images have the same size and that at least `fraction` of their bytes differ by at
/// most `tolerance` (the bar: 1/255 for 99.9 %).
func assertImagesMatch(_ actual: RGBImage, _ expected: [UInt8], width: Int, height: Int, tolerance: Int = 1,
                       fraction: Double = 0.999, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.width, width, "\(message): width", file: file, line: line)
    XCTAssertEqual(actual.height, height, "\(message): height", file: file, line: line)
    XCTAssertEqual(actual.pixels.count, expected.count, "\(message): byte count", file: file, line: line)
    let close = zip(actual.pixels, expected).filter { abs(Int($0) - Int($1)) <= tolerance }.count
    XCTAssertGreaterThanOrEqual(Double(close) / Double(max(expected.count, 1)), fraction,
                                "\(message): \(expected.count - close) of \(expected.count) bytes differ by more than \(tolerance)",
                                file: file, line: line)
}
