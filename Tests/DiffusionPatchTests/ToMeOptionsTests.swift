import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// Option validation and the grid errors a block call can raise.
final class ToMeOptionsTests: XCTestCase {
    private func assertInvalid(_ option: String, _ make: () throws -> ToMeOptions, file: StaticString = #filePath,
                               line: UInt = #line) {
        XCTAssertThrowsError(try make(), file: file, line: line) { error in
            guard case PatchError.invalidOption(let name, _) = error else {
                return XCTFail("expected invalidOption, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(name, option, file: file, line: line)
            XCTAssertTrue("\(error)".contains(option), "\(error)", file: file, line: line)
        }
    }

    func testBadOptionsAreTypedErrorsNamingTheOption() {
        for ratio in [-0.1, 1, 1.5, .nan, .infinity] {
            assertInvalid("ratio") { try ToMeOptions(ratio: ratio) }
        }
        for level in [0, 3, 5, 16, -1] {
            assertInvalid("maxDownsample") { try ToMeOptions(maxDownsample: level) }
        }
        assertInvalid("sx") { try ToMeOptions(sx: 0) }
        assertInvalid("sy") { try ToMeOptions(sy: -2) }
        var options = try? ToMeOptions()
        options?.ratio = 2
        assertInvalid("ratio") { try XCTUnwrap(options).validate(); return try XCTUnwrap(options) }
        assertInvalid("ratio") { _ = try ToMePatch(options: try XCTUnwrap(options)); return try XCTUnwrap(options) }
    }

    func testGoodOptionsAndTheEffectiveRatioCap() throws {
        for level in ToMeOptions.downsampleLevels { XCTAssertNoThrow(try ToMeOptions(maxDownsample: level)) }
        XCTAssertNoThrow(try ToMeOptions(ratio: 0))
        XCTAssertNoThrow(try ToMeOptions(ratio: 0.99, sx: 1, sy: 1))
        XCTAssertEqual(try ToMeOptions().effectiveRatioCap, 0.75)
        XCTAssertEqual(try ToMeOptions(sx: 3, sy: 2).effectiveRatioCap, 1 - 1.0 / 6)
        XCTAssertEqual(try ToMeOptions(sx: 1, sy: 1).effectiveRatioCap, 0)
    }

    func testARatioAboveTheCapMergesEverySource() throws {
        let patch = try ToMePatch(options: try ToMeOptions(ratio: 0.9, useRandom: false))
        let x = try Tensor(shape: [1, 16, 3], scalars: (0..<48).map { Float($0 % 7) - 3 })
        let plan = try patch.plan(for: x, context: TokenReductionContext(latentHeight: 4, latentWidth: 4))
        let merged = try XCTUnwrap(plan.selfAttention).merge(x)
        XCTAssertEqual(merged.shape, [1, 4, 3], "16 tokens keep their 4 destinations")
        XCTAssertEqual(patch.statistics.tokensMerged, 12)
    }

    func testUnitStridesHaveNoSourcesAndMergeNothing() throws {
        let patch = try ToMePatch(options: try ToMeOptions(ratio: 0.5, sx: 1, sy: 1))
        let x = try Tensor(shape: [2, 16, 3], scalars: (0..<96).map { Float($0 % 5) })
        let plan = try patch.plan(for: x, context: TokenReductionContext(latentHeight: 4, latentWidth: 4))
        XCTAssertNil(plan.selfAttention)
        XCTAssertEqual(patch.statistics.mergingCalls, 0)
    }

    func testTheSubLayersShareOnePlanAsSwitchedOn() throws {
        let x = try Tensor(shape: [1, 16, 3], scalars: (0..<48).map { Float(($0 * 7) % 11) })
        let context = TokenReductionContext(latentHeight: 4, latentWidth: 4)
        let onlyMLP = try ToMePatch(options: try ToMeOptions(mergeAttention: false, mergeMLP: true))
        let plan = try onlyMLP.plan(for: x, context: context)
        XCTAssertNil(plan.selfAttention)
        XCTAssertNil(plan.crossAttention)
        XCTAssertNotNil(plan.feedForward)
        let all = try ToMePatch(options: try ToMeOptions(useRandom: false, mergeCrossAttention: true, mergeMLP: true))
        let shared = try all.plan(for: x, context: context)
        let merged = try [shared.selfAttention, shared.crossAttention, shared.feedForward].map { try XCTUnwrap($0).merge(x) }
        XCTAssertEqual(merged[0], merged[1])
        XCTAssertEqual(merged[0], merged[2])
        XCTAssertEqual(all.statistics.blockCalls, 1, "one plan per block call")
        let none = try ToMePatch(options: try ToMeOptions(mergeAttention: false))
        let nothing = try none.plan(for: x, context: context)
        XCTAssertNil(nothing.selfAttention ?? nothing.crossAttention ?? nothing.feedForward)
    }

    func testDownsampleFollowsTomesd() throws {
        // A 9×7 latent: 63 tokens at downsample 1, 5×4 = 20 at 2 (63 // 20 = 3, ceil(sqrt 3) = 2), 3×2 = 6 at 4.
        let context = TokenReductionContext(latentHeight: 9, latentWidth: 7)
        for (tokens, level) in [(63, 1), (20, 2), (6, 4)] {
            let x = try Tensor(shape: [1, tokens, 2], scalars: (0..<(2 * tokens)).map { Float($0 % 3) + 0.5 })
            for maxDownsample in ToMeOptions.downsampleLevels {
                let patch = try ToMePatch(options: try ToMeOptions(ratio: 0.5, maxDownsample: maxDownsample))
                let plan = try patch.plan(for: x, context: context)
                XCTAssertEqual(plan.selfAttention != nil, level <= maxDownsample, "\(tokens) tokens, max \(maxDownsample)")
            }
        }
    }

    func testGridsTomesdCannotMergeAreTypedErrors() throws {
        let patch = try ToMePatch(options: try ToMeOptions(ratio: 0.5, maxDownsample: 2, sx: 3))
        // A 3×3 latent's 2×2 grid at downsample 2 is narrower than sx = 3.
        let small = try Tensor(shape: [1, 4, 2], scalars: Array(repeating: 1, count: 8))
        XCTAssertThrowsError(try patch.plan(for: small, context: TokenReductionContext(latentHeight: 3, latentWidth: 3))) {
            XCTAssertEqual($0 as? PatchError, .gridTooSmall(height: 2, width: 2, sx: 3, sy: 2, downsample: 2))
            XCTAssertTrue("\($0)".contains("2×2 token grid"), "\($0)")
        }
        // 10 tokens are no grid of a 4×4 latent (16 // 10 = 1: a 4×4 grid).
        let odd = try Tensor(shape: [1, 10, 2], scalars: Array(repeating: 1, count: 20))
        XCTAssertThrowsError(try patch.plan(for: odd, context: TokenReductionContext(latentHeight: 4, latentWidth: 4))) {
            XCTAssertEqual($0 as? PatchError, .gridMismatch(tokens: 10, latentHeight: 4, latentWidth: 4, downsample: 1,
                                                            height: 4, width: 4))
        }
    }
}
