import Foundation
import StableDiffusion
import TensorCore
import XCTest

/// Loading weights: folder layouts, and an error listing every problem for weights that do not fit.
final class UNetWeightsTests: XCTestCase {
    private let sd1 = UNetFixtures.url("unet-sd1")

    func testMissingUnexpectedMisshapedAndUnreadableTensorsAreAllListed() throws {
        let original = try SafeTensorsFile(contentsOf: sd1.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        var entries: [String: SafeTensors.Entry] = [:]
        for name in original.tensorNames { entries[name] = .float32(try original.tensor(name)) }
        entries["conv_in.bias"] = nil
        entries["mid_block.resnets.1.norm2.weight"] = nil
        entries["extra.weight"] = .float32(Tensor(zeros: [2]))
        entries["conv_out.weight"] = .float32(Tensor(zeros: [4, 8, 3, 1]))
        entries["conv_out.bias"] = .int64(shape: [4], values: [1, 2, 3, 4])
        let folder = try folderWithConfig()
        let weights = folder.appendingPathComponent("diffusion_pytorch_model.safetensors")
        try SafeTensors.write(entries: entries, to: weights)

        XCTAssertThrowsError(try UNet2DConditionModel.load(from: folder)) { error in
            guard case let .mismatch(path, missing, unexpected, misshaped, unreadable)? = error as? WeightError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, weights.path)
            XCTAssertEqual(missing, ["conv_in.bias", "mid_block.resnets.1.norm2.weight"])
            XCTAssertEqual(unexpected, ["extra.weight"])
            XCTAssertEqual(misshaped, [.init(name: "conv_out.weight", expected: [4, 8, 3, 3], found: [4, 8, 3, 1])])
            XCTAssertEqual(unreadable.count, 1)
            XCTAssertTrue(unreadable[0].contains("conv_out.bias"), unreadable[0])
            XCTAssertTrue("\(error)".contains("missing 2 tensor(s): conv_in.bias, mid_block.resnets.1.norm2.weight"), "\(error)")
        }
    }

    func testTruncatedWeightFileNamesTheFile() throws {
        let folder = try folderWithConfig()
        let bytes = try Data(contentsOf: sd1.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        let weights = folder.appendingPathComponent("diffusion_pytorch_model.safetensors")
        try bytes.prefix(bytes.count - 1000).write(to: weights)
        XCTAssertThrowsError(try UNet2DConditionModel.load(from: folder)) { error in
            XCTAssertTrue(error is SafeTensorsError, "\(error)")
            XCTAssertTrue("\(error)".contains(weights.path), "\(error)")
        }
    }

    func testMissingFilesAndFoldersAreNamed() throws {
        let folder = try folderWithConfig()
        XCTAssertThrowsError(try UNet2DConditionModel.load(from: folder)) { error in
            guard case .missingFile(let path, let reason)? = error as? WeightError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, folder.path)
            XCTAssertTrue(reason.contains("diffusion_pytorch_model.safetensors"), reason)
        }
        let empty = try UNetFixtures.temporaryFolder(for: self)
        XCTAssertThrowsError(try UNet2DConditionModel.load(from: empty)) { error in
            guard case .missingFile(let path, _)? = error as? WeightError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, empty.path)
        }
        let file = sd1.appendingPathComponent("config.json")
        XCTAssertThrowsError(try UNet2DConditionModel.load(from: file)) { error in
            XCTAssertEqual(error as? WeightError, .missingFile(path: file.path, reason: "not a folder"))
        }
    }

    func testPipelineFolderLoadsItsUNet() throws {
        let model = try UNet2DConditionModel.load(from: UNetFixtures.url("unet-fp16-pipeline"))
        XCTAssertEqual(model.config.blockOutChannels, [8, 16, 16])
    }

    func testSeededRandomWeightsAreReproducible() throws {
        let config = try UNetConfig.load(from: sd1.appendingPathComponent("config.json"))
        let testCase = try UNetCase(try UNetFixtures.cases("unet-sd1"), "square")
        let first = try testCase.run(try UNet2DConditionModel(config: config, seed: 7))
        let again = try testCase.run(try UNet2DConditionModel(config: config, seed: 7))
        let other = try testCase.run(try UNet2DConditionModel(config: config, seed: 8))
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first, other)
        XCTAssertTrue(first.scalars.allSatisfy(\.isFinite))
    }

    /// A temporary folder holding a copy of the SD1 fixture's config.json and nothing else.
    private func folderWithConfig() throws -> URL {
        let folder = try UNetFixtures.temporaryFolder(for: self)
        try FileManager.default.copyItem(at: sd1.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        return folder
    }
}
