import DiffusionPatch
import Foundation
import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The reference cases of `Tests/Fixtures/patch/cases.safetensors` (written by
/// `Scripts/reference/make_patch_fixtures.py`: tomesd 0.1.3 applied to diffusers 0.42.1) and the tiny UNets they
/// run on (`Tests/Fixtures/sd/unet-*`, the UNet fixtures).
enum PatchFixtures {
    /// The fixture's models, by the index the script stores in `<case>.options`.
    static let modelFolders = ["unet-sd1", "unet-sd2", "unet-sdxl", "pipeline-sdxl/unet"]

    /// `Tests/Fixtures/<relative>`.
    static func url(_ relative: String) -> URL { TestFiles.fixture(relative) }

    /// The cases file.
    static func cases() throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: url("patch/cases.safetensors"))
    }

    /// Every case name, in file order.
    static func caseNames(_ file: SafeTensorsFile) -> [String] {
        file.tensorNames.filter { $0.hasSuffix(".options") }.map { String($0.dropLast(".options".count)) }
    }

    /// One fixture UNet, loaded once per test run.
    static func model(_ folder: String) throws -> UNet2DConditionModel {
        try UNet2DConditionModel.load(from: url("sd/\(folder)"))
    }
}

/// One reference case: the inputs (NHWC), tomesd's options, and diffusers' outputs with and without the patch.
struct PatchCase {
    let name: String
    let sample: Tensor
    let timesteps: [Float]
    let encoderHiddenStates: Tensor
    let textTime: TextTimeConditioning?
    /// diffusers' output without the patch, NHWC.
    let unpatched: Tensor
    /// tomesd-patched diffusers' output (no-random), NHWC.
    let patched: Tensor
    /// tomesd's options, as ``ToMeOptions`` (no-random).
    let options: ToMeOptions
    /// The fixture model folder.
    let modelFolder: String
    /// (block calls, calls that merged, tokens merged) of the tomesd call.
    let merges: [Int]
    /// min / mean / max relative distance of tomesd's random outputs from the no-random one (even batches only).
    let randomDeviation: [Double]?

    init(_ file: SafeTensorsFile, _ name: String) throws {
        self.name = name
        func tensor(_ key: String) throws -> Tensor { try file.tensor("\(name).\(key)") }
        sample = try tensor("sample").permuted([0, 2, 3, 1])
        timesteps = try tensor("timestep").scalars
        encoderHiddenStates = try tensor("encoder_hidden_states")
        textTime = file.descriptors["\(name).text_embeds"] == nil ? nil
            : TextTimeConditioning(textEmbeds: try tensor("text_embeds"), timeIds: try tensor("time_ids"))
        unpatched = try tensor("unpatched").permuted([0, 2, 3, 1])
        patched = try tensor("out").permuted([0, 2, 3, 1])
        let o = try tensor("options").scalars.map(Double.init)
        options = try ToMeOptions(ratio: o[0], maxDownsample: Int(o[1]), sx: Int(o[2]), sy: Int(o[3]), useRandom: false,
                                  mergeAttention: o[4] != 0, mergeCrossAttention: o[5] != 0, mergeMLP: o[6] != 0)
        modelFolder = PatchFixtures.modelFolders[Int(o[7])]
        merges = try file.integers("\(name).merges")
        randomDeviation = file.descriptors["\(name).random_deviation"] == nil ? nil
            : try tensor("random_deviation").scalars.map(Double.init)
    }

    /// The model's output for this case's inputs.
    func run(_ model: UNet2DConditionModel) throws -> Tensor {
        try model(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, textTime: textTime)
    }
}

/// `|a − b| / |b|` in the L2 norm.
func relativeDistance(_ a: Tensor, _ b: Tensor) -> Double {
    var difference = 0.0, reference = 0.0
    for (x, y) in zip(a.scalars, b.scalars) {
        difference += Double(x - y) * Double(x - y)
        reference += Double(y) * Double(y)
    }
    return (difference / max(reference, 1e-30)).squareRoot()
}

/// Asserts `actual` matches the reference `expected`: same shape, relative L2 error ≤ 1e-4 (the bar) and
/// largest absolute difference ≤ 1e-3.
func assertMatchesReference(_ actual: Tensor, _ expected: Tensor, _ message: String,
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "\(message): shape", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let worst = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(relativeDistance(actual, expected), 1e-4, "\(message): relative L2 error", file: file, line: line)
    XCTAssertLessThanOrEqual(worst, 1e-3, "\(message): max |difference|", file: file, line: line)
}

/// The block's one token-reduction hook, or nil when it has none or several.
func onlyHook(_ block: BasicTransformerBlock) -> (any TokenReductionHook)? {
    block.tokenReductionHooks.count == 1 ? block.tokenReductionHooks[0] : nil
}
