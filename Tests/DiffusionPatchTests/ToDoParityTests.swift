import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// ToDo-patched outputs against the published ToDo code applied to diffusers, case by case: every resize method,
/// factors 2 and 3, odd grids and odd latents, maxDownsample 1, 2 and 4, batches 1 and 2, SD 1.x and SDXL UNets.
final class ToDoParityTests: XCTestCase {
    func testToDoOutputsMatchTheReference() throws {
        let file = try ToDoCase.cases()
        let names = ToDoCase.names(file)
        XCTAssertGreaterThanOrEqual(names.count, 21)
        var models: [String: UNet2DConditionModel] = [:]
        var methods = Set<ResizeMethod>()
        for name in names {
            let testCase = try ToDoCase(file, name)
            let model = try models[testCase.modelFolder] ?? PatchFixtures.model(testCase.modelFolder)
            models[testCase.modelFolder] = model
            removeTokenDownsampling(model)
            assertMatchesReference(try testCase.run(model), testCase.unpatched,
                                   "\(name) unpatched (if this fails, rerun make_todo_fixtures.py)")
            let patch = try applyTokenDownsampling(model, options: testCase.options)
            let output = try testCase.run(model)
            assertMatchesReference(output, testCase.patched, "\(name) with ToDo")
            let statistics = patch.statistics
            XCTAssertEqual([statistics.blockCalls, statistics.downsamplingCalls, statistics.tokensRemoved],
                           testCase.calls, "\(name): (block calls, downsampling calls, tokens removed)")
            if name != "sdxl-max-downsample-1" {
                XCTAssertGreaterThan(relativeDistance(output, testCase.unpatched), 1e-3, "\(name) changes the output")
            }
            methods.insert(testCase.options.method)
        }
        XCTAssertEqual(methods, Set(ResizeMethod.allCases), "every method has a reference case")
    }
}
