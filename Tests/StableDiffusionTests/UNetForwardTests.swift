import StableDiffusion
import TensorCore
import XCTest

/// Every case of every model fixture against diffusers' output, with both attention implementations.
final class UNetForwardTests: XCTestCase {
    func testSD1StyleConvProjectionMatchesDiffusers() throws {
        try assertFixtureMatches("unet-sd1")
    }

    func testSD2StyleLinearProjectionAndPerBlockHeadsMatchDiffusers() throws {
        try assertFixtureMatches("unet-sd2")
    }

    func testSDXLStyleTextTimeAndStackedTransformersMatchDiffusers() throws {
        try assertFixtureMatches("unet-sdxl")
    }

    func testFP16WeightsInAPipelineFolderMatchDiffusers() throws {
        try assertFixtureMatches("unet-fp16-pipeline")
    }

    func testEveryKernelLevelMatchesDiffusers() throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sd2"))
        let testCase = try UNetCase(try UNetFixtures.cases("unet-sd2"), "batch3")
        try forEachKernelLevel { level in
            for implementation in AttentionImplementation.allCases {
                model.attentionImplementation = implementation
                assertMatchesReference(try testCase.run(model), testCase.expected, "kernel level \(level), \(implementation) attention")
            }
        }
    }

    private func assertFixtureMatches(_ folder: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url(folder))
        let cases = try UNetFixtures.cases(folder)
        XCTAssertFalse(UNetFixtures.caseNames(cases).isEmpty, file: file, line: line)
        for name in UNetFixtures.caseNames(cases) {
            let testCase = try UNetCase(cases, name)
            for implementation in AttentionImplementation.allCases {
                model.attentionImplementation = implementation
                assertMatchesReference(try testCase.run(model), testCase.expected,
                                       "\(folder) case \(name), \(implementation) attention", file: file, line: line)
            }
        }
    }
}
