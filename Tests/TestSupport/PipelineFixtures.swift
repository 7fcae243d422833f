import Foundation
import ImageFiles
import TensorCore
import XCTest

/// The pipeline reference fixtures `Tests/Fixtures/sd/pipeline-sd1` and `pipeline-sd2` (written by
/// `Scripts/reference/make_pipeline_fixtures.py`) and `pipeline-sdxl` (`make_sdxl_pipeline_fixtures.py`): tiny
/// random diffusers pipeline folders with the results of diffusers runs.
public enum PipelineFixtures {
    /// The two styles.
    public static let styles = ["sd1", "sd2"]

    /// The model folder of a style.
    public static func folder(_ style: String) -> URL { Fixtures.url("pipeline-\(style)") }

    /// The reference tensors of a style.
    public static func tensors(_ style: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: folder(style).appendingPathComponent("cases.safetensors"))
    }

    /// The cases of a style, as `cases.json` lists them.
    public static func cases(_ style: String) throws -> Cases {
        try JSONDecoder().decode(Cases.self, from: Data(contentsOf: folder(style).appendingPathComponent("cases.json")))
    }

    /// `cases.json`.
    public struct Cases: Decodable {
        public let textPrompts: [String]
        public let cases: [Case]

        enum CodingKeys: String, CodingKey {
            case textPrompts = "text_prompts"
            case cases
        }
    }

    /// One diffusers run.
    public struct Case: Decodable {
        public let name: String
        public let prompt: String
        public let negativePrompt: String?
        public let width: Int
        public let height: Int
        public let steps: Int
        public let guidance: Float
        public let seed: UInt64
        public let scheduler: String
        public let initialLatents: Bool
        /// SDXL cases only: tomesd's `apply_patch(pipe, use_rand=False, ...)` arguments, or nil for no patch.
        public let tome: TomesdArguments?

        enum CodingKeys: String, CodingKey {
            case name, prompt, width, height, steps, guidance, seed, scheduler, tome
            case negativePrompt = "negative_prompt"
            case initialLatents = "initial_latents"
        }
    }

    /// tomesd's `apply_patch` arguments of a case.
    public struct TomesdArguments: Decodable {
        public let ratio: Double
        public let maxDownsample: Int

        enum CodingKeys: String, CodingKey {
            case ratio
            case maxDownsample = "max_downsample"
        }
    }

    /// A copy of a style's folder in a temporary folder (removed after the test), for tests that break it.
    public static func copy(_ style: String, for testCase: XCTestCase) throws -> URL {
        let copy = try Fixtures.temporaryDirectory(for: testCase).appendingPathComponent("pipeline")
        try Fixtures.copyResolvingLinks(folder(style), to: copy)
        return copy
    }
}

/// Asserts that two 8-bit images have the same size and that at least `fraction` of their bytes differ by at
/// most `tolerance` (the bar: 1/255 for 99.9 %).
public func assertImagesMatch(_ actual: RGBImage, _ expected: [UInt8], width: Int, height: Int, tolerance: Int = 1,
                       fraction: Double = 0.999, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.width, width, "\(message): width", file: file, line: line)
    XCTAssertEqual(actual.height, height, "\(message): height", file: file, line: line)
    XCTAssertEqual(actual.pixels.count, expected.count, "\(message): byte count", file: file, line: line)
    let close = zip(actual.pixels, expected).filter { abs(Int($0) - Int($1)) <= tolerance }.count
    XCTAssertGreaterThanOrEqual(Double(close) / Double(max(expected.count, 1)), fraction,
                                "\(message): \(expected.count - close) of \(expected.count) bytes differ by more than \(tolerance)",
                                file: file, line: line)
}
