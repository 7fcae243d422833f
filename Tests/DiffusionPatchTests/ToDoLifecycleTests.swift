import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// Token Downsampling's options, installing, replacing and removing it, and the errors of grids it cannot shrink.
final class ToDoLifecycleTests: XCTestCase {
    func testOptionsAreValidatedAndNamed() throws {
        XCTAssertEqual(try ToDoOptions(), try ToDoOptions(factor: 2, method: .nearestExact, maxDownsample: 1))
        for (factor, maxDownsample, option) in [(0, 1, "factor"), (65, 1, "factor"), (-2, 1, "factor"),
                                                (2, 3, "maxDownsample"), (2, 0, "maxDownsample")] {
            XCTAssertThrowsError(try ToDoOptions(factor: factor, maxDownsample: maxDownsample)) { error in
                guard case PatchError.invalidToDoOption(let name, _) = error else {
                    return XCTFail("\(factor), \(maxDownsample): \(error)")
                }
                XCTAssertEqual(name, option)
                XCTAssertTrue("\(error)".contains("ToDo option \(option)"), "\(error)")
            }
        }
        var options = try ToDoOptions()
        options.factor = 0
        XCTAssertThrowsError(try ToDoPatch(options: options), "mutated options are checked again")
    }

    func testRemoveRestoresTheModelExactlyAndApplyReplacesInPlace() throws {
        let model = try PatchFixtures.model("unet-sd1")
        let testCase = try ToDoCase(try ToDoCase.cases(), "nearest-exact")
        let unpatched = try testCase.run(model)
        let first = try applyTokenDownsampling(model, factor: 2)
        XCTAssertNotEqual(try testCase.run(model), unpatched)
        let tome = try applyPatch(model, ratio: 0.5)
        let second = try applyTokenDownsampling(model, factor: 3, method: .bilinear, maxDownsample: 2)
        XCTAssertTrue(appliedTokenDownsampling(model) === second)
        XCTAssertFalse(appliedTokenDownsampling(model) === first)
        XCTAssertTrue(model.transformerBlocks.allSatisfy {
            $0.tokenReductionHooks.map(ObjectIdentifier.init) == [ObjectIdentifier(second), ObjectIdentifier(tome)]
        }, "the new ToDo patch takes the old one's place; ToMe stays")
        removePatch(model)
        XCTAssertTrue(appliedTokenDownsampling(model) === second, "removing ToMe leaves ToDo")
        removeTokenDownsampling(model)
        XCTAssertTrue(model.transformerBlocks.allSatisfy { $0.tokenReductionHooks.isEmpty })
        XCTAssertEqual(try testCase.run(model), unpatched)
        removeTokenDownsampling(model)  // nothing to remove: no effect
    }

    func testAFactorThatEmptiesAGridThrowsNamingIt() throws {
        let model = try PatchFixtures.model("unet-sd1")
        let testCase = try ToDoCase(try ToDoCase.cases(), "nearest-exact")  // 16 × 16 latent
        try applyTokenDownsampling(model, factor: 17)
        XCTAssertThrowsError(try testCase.run(model)) { error in
            XCTAssertEqual(error as? PatchError, .downsampledGridEmpty(height: 16, width: 16, factor: 17, downsample: 1))
        }
    }

    func testAPoolingKernelThatCannotGiveTheSizeThrows() throws {
        // A 5 × 12 grid by 3 is 1 × 4, but the reference's kernel 5 // 1 = 5 pools it to 1 × 2 (its reshape fails).
        let model = try PatchFixtures.model("unet-sd1")
        try applyTokenDownsampling(model, factor: 3, method: .avgPool)
        let sample = Tensor(zeros: [1, 5, 12, 4])
        XCTAssertThrowsError(try model(sample, timesteps: [10], encoderHiddenStates: Tensor(zeros: [1, 5, 12]))) {
            XCTAssertTrue("\($0)".contains("avg_pool"), "\($0)")
        }
    }
}
