import Foundation
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The bf16 path against diffusers fp32, held to PyTorch's own bf16 error on the same inputs
/// (`Tests/Fixtures/sd/bf16_reference.json`, written by `Scripts/reference/make_bf16_reference.py`): our bf16
/// output's relative L2 error against diffusers' fp32 output must be no larger than that of `unet.to(bfloat16)`.
final class BF16AccuracyTests: XCTestCase {
    private var savedKernel = BF16GEMMKernel.active

    override func setUp() { savedKernel = BF16GEMMKernel.active }
    override func tearDown() { BF16GEMMKernel.setActive(savedKernel) }

    /// PyTorch's bf16 relative L2 error per case of `group` ("unet-sd1", "pipeline-sd1-bf16-models", …).
    private func torchErrors(_ group: String) throws -> [String: Double] {
        let data = try Data(contentsOf: Fixtures.url("bf16_reference.json"))
        let document = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(document[group] as? [String: Double], "bf16_reference.json has no group \(group)")
    }

    func testUNetSD1WithinPyTorchBF16Error() throws { try checkUNet("unet-sd1") }

    func testUNetSD2WithinPyTorchBF16Error() throws { try checkUNet("unet-sd2") }

    func testUNetSDXLWithinPyTorchBF16Error() throws { try checkUNet("unet-sdxl") }

    /// Every bfloat16 kernel variant this CPU has (AVX512-BF16 and the widening ones) gives the same output.
    func testEveryBF16KernelGivesTheSameUNetOutput() throws {
        let cases = try UNetFixtures.cases("unet-sd1")
        let testCase = try UNetCase(cases, "odd")
        var first: [Float]?
        for kernel in BF16GEMMKernel.available {
            BF16GEMMKernel.setActive(kernel)  // the variant is chosen when the weights are packed
            let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-sd1"), precision: .bf16)
            let output = try testCase.run(model).scalars
            if let first {
                XCTAssertEqual(zip(output, first).filter { $0.bitPattern != $1.bitPattern }.count, 0, "\(kernel)")
            } else {
                first = output
            }
        }
    }

    func testPipelineSD1LatentsWithinPyTorchBF16Error() throws { try checkPipeline("sd1") }

    func testPipelineSD2LatentsWithinPyTorchBF16Error() throws { try checkPipeline("sd2") }

    private func checkUNet(_ folder: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let bars = try torchErrors(folder)
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url(folder), precision: .bf16)
        let cases = try UNetFixtures.cases(folder)
        let names = UNetFixtures.caseNames(cases)
        XCTAssertFalse(names.isEmpty, file: file, line: line)
        for name in names {
            let bar = try XCTUnwrap(bars[name], "no PyTorch figure for \(folder) \(name)", file: file, line: line)
            let testCase = try UNetCase(cases, name)
            let error = relativeL2(try testCase.run(model), testCase.expected)
            XCTAssertLessThanOrEqual(error, bar, "\(folder) \(name): ours \(error), PyTorch bf16 \(bar)", file: file, line: line)
            XCTAssertGreaterThan(error, 0, "\(folder) \(name): bf16 cannot match fp32 exactly", file: file, line: line)
        }
    }

    /// A whole `generate` run in bf16 (text encoder, UNet and VAE weights; latents and scheduler fp32) against
    /// diffusers fp32's final latents, held to PyTorch with the same split (networks bf16, scheduler fp32).
    private func checkPipeline(_ style: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let bars = try torchErrors("pipeline-\(style)-bf16-models")
        let pipeline = try StableDiffusionPipeline(folder: PipelineFixtures.folder(style), precision: .bf16)
        let reference = try PipelineFixtures.tensors(style)
        for testCase in try PipelineFixtures.cases(style).cases {
            let bar = try XCTUnwrap(bars[testCase.name], "no PyTorch figure for \(style) \(testCase.name)", file: file, line: line)
            let result = try pipeline.generate(try PipelineFixtures.configuration(testCase, reference))
            let error = relativeL2(result.latents, try reference.tensor("\(testCase.name).latents"))
            XCTAssertLessThanOrEqual(error, bar, "\(style) \(testCase.name): ours \(error), PyTorch bf16 \(bar)",
                                     file: file, line: line)
        }
    }
}
