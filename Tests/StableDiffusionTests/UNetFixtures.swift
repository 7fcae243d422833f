import CKernels
import Foundation
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The UNet reference fixtures under `Tests/Fixtures/sd/unet*` (written by
/// `Scripts/reference/make_unet_fixtures.py`) and the comparisons the UNet and layer tests share.
enum UNetFixtures {
    /// `Tests/Fixtures/sd/<name>`.
    static func url(_ name: String) -> URL { Fixtures.url(name) }

    /// The `cases.safetensors` of a model fixture folder.
    static func cases(_ folder: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: url(folder).appendingPathComponent("cases.safetensors"))
    }

    /// The case names in a `cases.safetensors` (the prefixes of its `<case>.out` tensors).
    static func caseNames(_ file: SafeTensorsFile) -> [String] {
        file.tensorNames.filter { $0.hasSuffix(".out") && !$0.contains(".hooked.") }.map { String($0.dropLast(4)) }
    }

    /// A fresh empty folder, removed when `testCase` ends.
    static func temporaryFolder(for testCase: XCTestCase) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }
}

/// The UNet inputs of one fixture case, converted from diffusers' NCHW to NHWC.
struct UNetCase {
    let sample: Tensor
    let timesteps: [Float]
    let encoderHiddenStates: Tensor
    let textTime: TextTimeConditioning?
    /// The expected output, NHWC.
    let expected: Tensor

    init(_ file: SafeTensorsFile, _ name: String, output: String = "out") throws {
        sample = try file.tensor("\(name).sample").permutedNCHWToNHWC()
        timesteps = try file.tensor("\(name).timestep").scalars
        encoderHiddenStates = try file.tensor("\(name).encoder_hidden_states")
        if file.descriptors["\(name).text_embeds"] != nil {
            textTime = TextTimeConditioning(textEmbeds: try file.tensor("\(name).text_embeds"),
                                            timeIds: try file.tensor("\(name).time_ids"))
        } else {
            textTime = nil
        }
        expected = try file.tensor("\(name).\(output)").permutedNCHWToNHWC()
    }

    func run(_ model: UNet2DConditionModel) throws -> Tensor {
        try model(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, textTime: textTime)
    }
}

extension Tensor {
    /// `[B, C, H, W]` → `[B, H, W, C]`.
    func permutedNCHWToNHWC() throws -> Tensor {
        try permuted([0, 2, 3, 1])
    }
}

/// Asserts `actual` matches the reference `expected`: same shape, relative L2 error ≤ `relative` and largest
/// absolute difference ≤ `absolute` (the bar: 1e-4 and 1e-3).
func assertMatchesReference(_ actual: Tensor, _ expected: Tensor, relative: Float = 1e-4, absolute: Float = 1e-3,
                            _ message: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(message): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    var difference: Double = 0, reference: Double = 0, worst: Float = 0
    for (a, e) in zip(actual.scalars, expected.scalars) {
        difference += Double((a - e) * (a - e))
        reference += Double(e * e)
        if !(abs(a - e) <= worst) { worst = abs(a - e) }
    }
    let relativeError = Float((difference / max(reference, 1e-30)).squareRoot())
    XCTAssertLessThanOrEqual(relativeError, relative, "\(message): relative L2 error", file: file, line: line)
    XCTAssertLessThanOrEqual(worst, absolute, "\(message): max |difference|", file: file, line: line)
}

/// Runs `body` once per instruction-set level of the neural-network kernels this CPU supports (AVX-512, AVX2,
/// baseline), then restores the best one.
func forEachKernelLevel(_ body: (Int) throws -> Void) rethrows {
    let best = ck_nn_isa_level()
    defer { _ = ck_nn_set_isa_level(best) }
    for level in (0...best).reversed() where ck_nn_set_isa_level(level) == 1 {
        try body(Int(level))
    }
}

/// `‖actual − expected‖ / ‖expected‖`, in double precision.
func relativeL2(_ actual: Tensor, _ expected: Tensor) -> Double {
    XCTAssertEqual(actual.shape, expected.shape)
    var difference = 0.0, reference = 0.0
    for (a, e) in zip(actual.scalars, expected.scalars) {
        difference += Double(a - e) * Double(a - e)
        reference += Double(e) * Double(e)
    }
    return (difference / max(reference, 1e-300)).squareRoot()
}
