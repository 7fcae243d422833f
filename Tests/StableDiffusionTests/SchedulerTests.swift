import Foundation
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// Noise recorded from diffusers' generator, handed out one tensor per draw.
struct RecordedNoise: NoiseSource {
    var draws: [[Float]]

    mutating func standardNormal(shape: [Int]) throws -> Tensor {
        guard !draws.isEmpty else { throw SchedulerError.invalidStep("recorded noise ran out") }
        return try Tensor(shape: shape, scalars: draws.removeFirst())
    }
}

final class SchedulerTests: XCTestCase {
    private struct Step: Decodable {
        let scaled: [Float]
        let model_output: [Float]
        let noise: [Float]?
        let prev_sample: [Float]
    }
    private struct Case: Decodable {
        let name: String
        let config_json: String
        let switch_to: String?
        let steps: Int
        let init_noise_sigma: Float
        let timesteps: [Float]
        let shape: [Int]
        let sample: [Float]
        let steps_data: [Step]
    }
    private struct File: Decodable { let cases: [Case] }

    /// Largest |a − e| / max(1, |e|): absolute error for values up to 1, relative above.
    private func scaledError(_ actual: [Float], _ expected: [Float]) -> Float {
        zip(actual, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    }

    /// Builds the case's scheduler the way diffusers did: the config's own class, or another class given the same
    /// config (`from_config`).
    private func makeScheduler(_ testCase: Case) throws -> any Scheduler {
        let config = try SchedulerConfig(json: Data(testCase.config_json.utf8), source: testCase.name)
        let kind = try testCase.switch_to.map { try XCTUnwrap(SchedulerKind(rawValue: $0)) } ?? SchedulerKind(config: config)
        return try kind.make(config: config, steps: testCase.steps)
    }

    /// Timesteps, initial noise scale, scaled model inputs and every step's output against diffusers, for each
    /// scheduler, both prediction types, every spacing, Karras sigmas, PRK, zero-SNR and switched classes.
    func testMatchesDiffusers() throws {
        let file = try Fixtures.json(File.self, "schedulers/steps.json")
        XCTAssertGreaterThanOrEqual(file.cases.count, 19)
        var worst: (error: Float, name: String) = (0, "")
        for testCase in file.cases {
            var scheduler = try makeScheduler(testCase)
            // Integer timesteps exactly; fractional ones (Euler with Karras sigmas) within 1e-6 relative: diffusers
            // derives them through PyTorch's vectorised sqrt and NumPy's float32 log, which are not correctly rounded.
            XCTAssertEqual(scheduler.timesteps.count, testCase.timesteps.count, "\(testCase.name): timestep count")
            for (mine, theirs) in zip(scheduler.timesteps, testCase.timesteps) {
                let tolerance: Float = theirs == theirs.rounded() ? 0 : 1e-6 * theirs
                XCTAssertEqual(mine, theirs, accuracy: tolerance, "\(testCase.name): timesteps \(scheduler.timesteps)")
            }
            XCTAssertEqual(scheduler.initNoiseSigma, testCase.init_noise_sigma, accuracy: 1e-6 * max(1, testCase.init_noise_sigma),
                           "\(testCase.name): init noise sigma")
            XCTAssertEqual(testCase.steps_data.count, scheduler.timesteps.count, testCase.name)
            var noise = RecordedNoise(draws: testCase.steps_data.compactMap(\.noise))
            var sample = try Tensor(shape: testCase.shape, scalars: testCase.sample)
            for (index, step) in testCase.steps_data.enumerated() {
                XCTAssertEqual(scheduler.stepIndex, index)
                let scaledError = scaledError(scheduler.scaleModelInput(sample).scalars, step.scaled)
                let output = try Tensor(shape: testCase.shape, scalars: step.model_output)
                sample = try scheduler.step(modelOutput: output, sample: sample, noise: &noise)
                let error = max(scaledError, self.scaledError(sample.scalars, step.prev_sample))
                XCTAssertLessThanOrEqual(error, 1e-5, "\(testCase.name): step \(index)")
                if error > worst.error { worst = (error, "\(testCase.name) step \(index)") }
            }
            XCTAssertTrue(noise.draws.isEmpty, "\(testCase.name): every recorded noise draw is used")
        }
        print("scheduler fixtures: worst scaled error \(worst.error) at \(worst.name)")
    }

    /// The ancestral sampler drawing from ``TorchGenerator`` reproduces diffusers with `torch.Generator` seeded alike.
    func testAncestralNoiseFromTorchGenerator() throws {
        let file = try Fixtures.json(File.self, "schedulers/steps.json")
        let testCase = try XCTUnwrap(file.cases.first { $0.name == "euler_ancestral" })
        let seed = UInt64(1000 + file.cases.firstIndex { $0.name == "euler_ancestral" }!)
        var scheduler = try makeScheduler(testCase)
        var generator = TorchGenerator(seed: seed)
        var sample = try Tensor(shape: testCase.shape, scalars: testCase.sample)
        for step in testCase.steps_data {
            sample = try scheduler.step(modelOutput: try Tensor(shape: testCase.shape, scalars: step.model_output),
                                        sample: sample, noise: &generator)
            XCTAssertLessThanOrEqual(scaledError(sample.scalars, step.prev_sample), 1e-5)
        }
    }

    // MARK: Bad input

    private func config(_ json: String) throws -> SchedulerConfig {
        try SchedulerConfig(json: Data(json.utf8), source: "scheduler_config.json")
    }

    func testUnknownClass() throws {
        XCTAssertThrowsError(try SchedulerKind(config: try config("{\"_class_name\": \"LMSDiscreteScheduler\"}"))) { error in
            XCTAssertEqual(error as? SchedulerError, .unknownClass("LMSDiscreteScheduler"))
            XCTAssertTrue("\(error)".contains("LMSDiscreteScheduler"))
        }
        XCTAssertThrowsError(try SchedulerKind(config: try config("{}")))
    }

    func testUnsupportedOptions() throws {
        let cases: [(SchedulerKind, String, String)] = [
            (.ddim, "{\"thresholding\": true}", "thresholding"),
            (.ddim, "{\"prediction_type\": \"sample\"}", "prediction_type"),
            (.pndm, "{\"beta_schedule\": \"sigmoid\"}", "beta_schedule"),
            (.pndm, "{\"timestep_spacing\": \"middle\"}", "timestep_spacing"),
            (.pndm, "{\"trained_betas\": [0.1, 0.2]}", "trained_betas"),
            (.eulerDiscrete, "{\"interpolation_type\": \"log_linear\"}", "interpolation_type"),
            (.eulerDiscrete, "{\"use_exponential_sigmas\": true}", "use_exponential_sigmas"),
            (.eulerDiscrete, "{\"final_sigmas_type\": \"one\"}", "final_sigmas_type"),
            (.eulerDiscrete, "{\"timestep_type\": \"continuous\"}", "timestep_type"),
            (.dpmSolverMultistep, "{\"algorithm_type\": \"sde-dpmsolver++\"}", "algorithm_type"),
            (.dpmSolverMultistep, "{\"solver_order\": 3}", "solver_order"),
            (.dpmSolverMultistep, "{\"solver_type\": \"bh2\"}", "solver_type"),
            (.dpmSolverMultistep, "{\"variance_type\": \"learned_range\"}", "variance_type"),
            (.dpmSolverMultistep, "{\"use_lu_lambdas\": true}", "use_lu_lambdas"),
            (.ddim, "{\"steps_offset\": 5}", "steps_offset"),  // 1000 steps: timestep 1004 is past the schedule
        ]
        for (kind, json, option) in cases {
            let steps = option == "steps_offset" ? 1000 : 10
            XCTAssertThrowsError(try kind.make(config: try config(json), steps: steps), json) { error in
                guard case SchedulerError.unsupportedOption(let name, _, let scheduler) = error else { return XCTFail("\(json): \(error)") }
                XCTAssertEqual(name, option)
                XCTAssertEqual(scheduler, kind.className)
            }
        }
    }

    func testStepCountAndStepErrors() throws {
        for kind in SchedulerKind.allCases {
            for steps in [0, -3, 1001] {
                XCTAssertThrowsError(try kind.make(config: SchedulerConfig(), steps: steps)) { error in
                    XCTAssertEqual(error as? SchedulerError, .invalidStepCount(steps, trainTimesteps: 1000), "\(kind)")
                }
            }
            var scheduler = try kind.make(config: SchedulerConfig(), steps: 2)
            var generator = TorchGenerator(seed: 0)
            let sample = Tensor(zeros: [1, 4, 2, 2])
            XCTAssertThrowsError(try scheduler.step(modelOutput: Tensor(zeros: [1, 4, 2, 3]), sample: sample, noise: &generator)) { error in
                guard case SchedulerError.invalidStep = error else { return XCTFail("\(kind): \(error)") }
            }
            for _ in scheduler.timesteps { _ = try scheduler.step(modelOutput: sample, sample: sample, noise: &generator) }
            XCTAssertThrowsError(try scheduler.step(modelOutput: sample, sample: sample, noise: &generator), "\(kind): past the end")
        }
    }

    func testMalformedConfig() throws {
        for json in ["{", "[1]", "{\"num_train_timesteps\": \"many\"}", "{\"beta_start\": true}"] {
            XCTAssertThrowsError(try config(json), json) { error in
                guard case SchedulerError.invalidConfig(let source, _) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(source, "scheduler_config.json")
            }
        }
        XCTAssertThrowsError(try SchedulerConfig(contentsOf: URL(fileURLWithPath: "/no/such/scheduler_config.json"))) { error in
            XCTAssertTrue("\(error)".contains("/no/such/scheduler_config.json"))
        }
        // Python writes -Infinity for lambda_min_clipped; unknown keys are ignored.
        let parsed = try config("{\"lambda_min_clipped\": -Infinity, \"some_future_option\": 3, \"trained_betas\": null}")
        XCTAssertEqual(parsed.lambdaMinClipped, -.infinity)
    }
}

final class SchedulerPresetTests: XCTestCase {
    /// `dpm++2m-karras` on SD 1.5's PNDM config is the `dpm_2m_from_pndm_karras` fixture's scheduler.
    func testPresetsBuildTheirSchedulers() throws {
        let sd15 = try SchedulerConfig(json: Data("""
            {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
             "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1}
            """.utf8))
        XCTAssertEqual(SchedulerPreset(rawValue: "euler-a")?.kind, .eulerAncestralDiscrete)
        XCTAssertNil(SchedulerPreset(rawValue: "lms"))
        let karras = try SchedulerPreset.dpmSolver2MKarras.make(config: sd15, steps: 12)
        let plain = try SchedulerPreset.dpmSolver2M.make(config: sd15, steps: 12)
        XCTAssertTrue(karras is DPMSolverMultistepScheduler)
        XCTAssertNotEqual(karras.timesteps, plain.timesteps)
        struct Case: Decodable { let name: String; let timesteps: [Float] }
        struct File: Decodable { let cases: [Case] }
        let fixture = try Fixtures.json(File.self, "schedulers/steps.json").cases.first { $0.name == "dpm_2m_from_pndm_karras" }
        XCTAssertEqual(karras.timesteps, try XCTUnwrap(fixture).timesteps)
        XCTAssertEqual(plain.timesteps.first, 999)
        for preset in SchedulerPreset.allCases {
            XCTAssertEqual(try preset.make(config: sd15, steps: 5).timesteps.count, preset == .pndm ? 6 : 5, preset.rawValue)
        }
    }
}
