import DiffusionPatch
import StableDiffusion
import TensorCore
import XCTest

/// ToDo-patched outputs against the published ToDo code applied to diffusers, case by case: every resize method,
/// factors 2 and 3, odd grids and odd latents, maxDownsample 1, 2 and 4, batches 1 and 2, SD 1.x and SDXL UNets,
/// and a timestep before and after the reference's `timestep_threshold_stop`.
final class ToDoParityTests: XCTestCase {
    func testToDoOutputsMatchTheReference() throws {
        let file = try ToDoCase.cases()
        let names = ToDoCase.names(file)
        XCTAssertGreaterThanOrEqual(names.count, 23)
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
            if !["sdxl-max-downsample-1", "threshold-after-stop"].contains(name) {
                XCTAssertGreaterThan(relativeDistance(output, testCase.unpatched), 1e-3, "\(name) changes the output")
            }
            methods.insert(testCase.options.method)
        }
        XCTAssertEqual(methods, Set(ResizeMethod.allCases), "every method has a reference case")
    }

    func testTheTimestepThresholdStopsDownsamplingLateInSampling() throws {
        let file = try ToDoCase.cases()
        let before = try ToDoCase(file, "threshold-before-stop"), after = try ToDoCase(file, "threshold-after-stop")
        XCTAssertEqual(before.options.timestepThresholdStop, 0.6)
        XCTAssertEqual(before.timesteps, [700, 700])
        XCTAssertEqual(after.timesteps, [600, 600])
        let model = try PatchFixtures.model("unet-sd1")
        let unpatched = try after.run(model)
        let patch = try applyTokenDownsampling(model, options: after.options)
        XCTAssertEqual(try after.run(model), unpatched, "600 / 1000 is not past 0.6: nothing downsampled")
        XCTAssertEqual(patch.statistics.downsamplingCalls, 0)
        XCTAssertGreaterThan(relativeDistance(try before.run(model), before.unpatched), 1e-3)
        XCTAssertGreaterThan(patch.statistics.downsamplingCalls, 0)
        XCTAssertThrowsError(try ToDoOptions(timestepThresholdStop: 1.5))
        XCTAssertThrowsError(try ToDoOptions(timestepThresholdStop: .nan))
        XCTAssertTrue(try ToDoOptions().acts(atTimestep: 0), "no threshold: every timestep")
        XCTAssertFalse(try ToDoOptions(timestepThresholdStop: 0).acts(atTimestep: 0), "the reference's default")
    }
}
