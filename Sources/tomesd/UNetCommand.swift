import DiffusionPatch
import Foundation
import StableDiffusion
import TensorCore

/// `tomesd unet`: runs a diffusers UNet on inputs from a safetensors file (NCHW, as diffusers takes them) and writes
/// the output sample (NCHW, float32), printing the load time, the wall and CPU time of each forward and the peak
/// memory.
/// `--config FILE [--seed S]` builds the model from a config.json with seeded random weights instead of `--model`.
/// `--precision bf16` packs the linear and convolution weights as bfloat16 (fp32 by default).
/// `--ratio R` and the other ToMe options (``ToMeArguments``) patch it with Token Merging; `--seed` seeds that too.
/// `--method todo` and the ToDo options (``ToDoArguments``) patch it with Token Downsampling instead.
let unetCommand = Subcommand(
    name: "unet",
    summary: "run a diffusers UNet on inputs from a safetensors file, timed, optionally with Token Merging",
    details: "Reads sample [B, C, H, W], timestep and encoder_hidden_states (and, for SDXL, text_embeds and time_ids) "
        + "from --inputs, runs the UNet of --model (or one built from --config with seeded random weights) --repeat "
        + "times, and writes the output \"sample\" (NCHW, float32) to --output, with the load time, the wall and CPU "
        + "time of each forward and the peak memory. --ratio patches the UNet with Token Merging.",
    options: [
        .value("model", "DIR", "a diffusers UNet folder (config.json and diffusion_pytorch_model.safetensors); "
            + "give --model or --config"),
        .value("config", "FILE", "a UNet config.json: build the model with seeded random weights instead of --model"),
        .value("seed", "S", default: "0", "seeds the random weights of --config and the Token Merging partitions"),
        .value("inputs", "FILE", required: true, "safetensors file with the UNet's inputs (NCHW, as diffusers takes them)"),
        .value("output", "FILE", required: true, "safetensors file to write: the output \"sample\""),
        .value("attention", "standard|memory-efficient", default: AttentionImplementation.memoryEfficient.rawValue,
               "how attention is computed (memory-efficient: in tiles, never the whole score matrix)"),
        .precision,
        .value("repeat", "N", default: "1", "forwards to run and time"),
    ] + ToMeArguments.options + ToDoArguments.options
) { arguments in
    let modelPath = arguments.string("model")
    let configPath = arguments.string("config")
    let seedGiven = arguments.isGiven("seed")
    let seed = try arguments.seed()
    let todo = try ToDoArguments.parse(&arguments)
    let tome = try ToMeArguments.parse(&arguments)
    let inputsPath = try arguments.required("inputs")
    let outputPath = try arguments.required("output")
    let attentionName = try arguments.required("attention")
    guard let attention = AttentionImplementation(rawValue: attentionName) else {
        throw UsageError("option --attention expects standard or memory-efficient, got '\(attentionName)'")
    }
    let precision = try parsePrecision(try arguments.required("precision"))
    let repeats = try arguments.requiredInt("repeat", in: 1...10_000)
    guard (modelPath == nil) != (configPath == nil) else { throw UsageError("give exactly one of --model and --config") }
    guard !seedGiven || configPath != nil || tome != nil else { throw UsageError("option --seed goes with --config or --ratio") }
    try arguments.finish()
    // Inputs: every file of the model folder, or the config file alone (a --config run reads nothing beside it);
    // and the inputs file.
    let modelInput = modelPath ?? configPath
    let outputFile = try prepareOutput(outputPath, option: "--output", inputs: [modelInput, inputsPath].compactMap { $0 })

    let loadStart = ProcessMetrics.now(), loadCPUStart = ProcessMetrics.cpuSeconds()
    let model: UNet2DConditionModel
    if let modelPath {
        model = try UNet2DConditionModel.load(from: URL(fileURLWithPath: modelPath), precision: precision)
    } else {
        let config = try UNetConfig.load(from: URL(fileURLWithPath: configPath!))
        model = try UNet2DConditionModel(config: config, seed: seed, precision: precision)
    }
    model.attentionImplementation = attention
    let patch = try tome.map { try applyPatch(model, options: $0) }
    if let patch { ToMeArguments.noticeIfIdle(patch, model: model) }
    let downsampling = try todo.map { try applyTokenDownsampling(model, options: $0) }
    if let downsampling { ToDoArguments.noticeIfIdle(downsampling, model: model) }
    print(String(format: "loaded in %.3f s (cpu %.3f s)", ProcessMetrics.seconds(since: loadStart), ProcessMetrics.cpuSeconds() - loadCPUStart))

    let inputs = try UNetCommandInputs(URL(fileURLWithPath: inputsPath))
    let peakAfterLoad = ProcessMetrics.lifetimePeakBytes()
    let forwardPeakKnown = ProcessMetrics.resetPeak()
    var output = Tensor(zeros: [])
    for run in 1...repeats {
        let start = ProcessMetrics.now(), cpuStart = ProcessMetrics.cpuSeconds()
        output = try model(inputs.sample, timesteps: inputs.timesteps, encoderHiddenStates: inputs.encoderHiddenStates,
                           textTime: inputs.textTime)
        print(String(format: "forward %d: %.3f s (cpu %.3f s)", run, ProcessMetrics.seconds(since: start), ProcessMetrics.cpuSeconds() - cpuStart))
    }
    if let patch { print(ToMeArguments.summary(patch.statistics, forwards: repeats)) }
    if let downsampling { print(ToDoArguments.summary(downsampling.statistics, forwards: repeats)) }
    try SafeTensors.write(["sample": try output.permuted([0, 3, 1, 2])], into: outputFile)
    try outputFile.commit()
    if forwardPeakKnown, let forwardPeak = ProcessMetrics.resettablePeakBytes() {
        print(String(format: "peak resident memory: %.1f MiB (loading: %.1f MiB, forwards: %.1f MiB)",
                     Double(max(peakAfterLoad, forwardPeak)) / 1048576, Double(peakAfterLoad) / 1048576,
                     Double(forwardPeak) / 1048576))
    } else {
        print(String(format: "peak resident memory: %.1f MiB", Double(ProcessMetrics.lifetimePeakBytes()) / 1048576))
    }
}

/// The inputs of `tomesd unet`, read from a safetensors file and converted to the model's NHWC layout.
private struct UNetCommandInputs {
    /// The names the file may hold.
    static let names: Set = ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]

    let sample: Tensor
    let timesteps: [Float]
    let encoderHiddenStates: Tensor
    let textTime: TextTimeConditioning?

    init(_ url: URL) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        if let unknown = file.tensorNames.first(where: { !Self.names.contains($0) }) {
            throw UNetInputError(input: unknown, reason: "unknown input in \(url.path) (expected \(Self.names.sorted()))")
        }
        func required(_ name: String) throws -> Tensor {
            guard file.descriptors[name] != nil else { throw UNetInputError(input: name, reason: "missing from \(url.path)") }
            return try file.tensor(name)
        }
        let nchw = try required("sample")
        guard nchw.rank == 4 else { throw UNetInputError(input: "sample", reason: "expected [B, C, H, W], got \(nchw.shape)") }
        sample = try nchw.permuted([0, 2, 3, 1])
        let timestep = try required("timestep")
        guard timestep.rank <= 1 else { throw UNetInputError(input: "timestep", reason: "expected [B] or a scalar, got \(timestep.shape)") }
        timesteps = timestep.scalars
        encoderHiddenStates = try required("encoder_hidden_states")
        switch (file.descriptors["text_embeds"], file.descriptors["time_ids"]) {
        case (nil, nil):
            textTime = nil
        case (_?, _?):
            textTime = TextTimeConditioning(textEmbeds: try file.tensor("text_embeds"), timeIds: try file.tensor("time_ids"))
        case (nil, _?):
            throw UNetInputError(input: "text_embeds", reason: "missing from \(url.path) (time_ids is given)")
        case (_?, nil):
            throw UNetInputError(input: "time_ids", reason: "missing from \(url.path) (text_embeds is given)")
        }
    }
}
