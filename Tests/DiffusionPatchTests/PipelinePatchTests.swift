import DiffusionPatch
import StableDiffusion
import XCTest

/// The README's call: `applyPatch(pipeline, ratio: 0.5)` patches the pipeline's UNet, changes the image, and
/// `removePatch(pipeline)` gives the unpatched image back exactly.
final class PipelinePatchTests: XCTestCase {
    func testPatchingAPipelinePatchesItsUNet() throws {
        let pipeline = try StableDiffusionPipeline.builtInDemo()
        func image() throws -> [UInt8] {
            try pipeline.generate(prompt: "a cat", width: 32, height: 32, steps: 2, seed: 7).images[0].pngData()
        }
        let before = try image()
        let patch = try applyPatch(pipeline, ratio: 0.5)
        XCTAssertTrue(pipeline.unet.transformerBlocks.allSatisfy { onlyHook($0) === patch })
        XCTAssertNotEqual(try image(), before)
        XCTAssertGreaterThan(patch.statistics.tokensMerged, 0)
        removePatch(pipeline)
        XCTAssertNil(appliedPatch(pipeline))
        XCTAssertEqual(try image(), before)
    }
}
