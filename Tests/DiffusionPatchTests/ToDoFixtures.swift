import DiffusionPatch
import StableDiffusion
import TensorCore
import TestSupport

/// One case of `Tests/Fixtures/todo/cases.safetensors` (written by `Scripts/reference/make_todo_fixtures.py`: the
/// published ToDo code, `Scripts/reference/apply_todo.py`, applied to diffusers 0.42.1), on the UNet fixtures.
struct ToDoCase {
    /// The fixture models, by the index the script stores in `<case>.options`.
    static let modelFolders = [0: "unet-sd1", 2: "unet-sdxl"]
    /// The script's method order.
    static let methods = ResizeMethod.allCases

    let name: String
    let sample: Tensor
    let timesteps: [Float]
    let encoderHiddenStates: Tensor
    let textTime: TextTimeConditioning?
    /// diffusers' output without ToDo, NHWC.
    let unpatched: Tensor
    /// The reference's output, NHWC.
    let patched: Tensor
    let options: ToDoOptions
    let modelFolder: String
    /// (block calls, calls that downsampled, key/value tokens removed) of the reference call.
    let calls: [Int]

    /// The cases file.
    static func cases() throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: TestFiles.fixture("todo/cases.safetensors"))
    }

    /// Every case name, in file order.
    static func names(_ file: SafeTensorsFile) -> [String] {
        file.tensorNames.filter { $0.hasSuffix(".options") }.map { String($0.dropLast(".options".count)) }
    }

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
        options = try ToDoOptions(factor: Int(o[0]), method: Self.methods[Int(o[1])], maxDownsample: Int(o[2]),
                                  timestepThresholdStop: (o[4] * 1e6).rounded() / 1e6)  // float64 read as Float
        modelFolder = Self.modelFolders[Int(o[3])] ?? "?"
        calls = try file.integers("\(name).calls")
    }

    /// The model's output for this case's inputs.
    func run(_ model: UNet2DConditionModel) throws -> Tensor {
        try model(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, textTime: textTime)
    }
}
