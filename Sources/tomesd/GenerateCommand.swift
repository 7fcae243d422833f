import DiffusionPatch
import Foundation
import StableDiffusion
import TensorCore

/// `tomesd generate`: text to image with a diffusers Stable Diffusion folder (`--model`), or with the built-in
/// demo pipeline (random weights) without it. Shows step progress, stops cleanly on Ctrl-C, and writes `--output`
/// (PNG) only once the image is complete. `--latents FILE` takes the initial latents (safetensors, tensor
/// "latents", NCHW, as diffusers' `latents=` argument); `--save-latents FILE` writes the final latents the same
/// way (diffusers' `output_type="latent"`). `--seed` seeds the noise (as `torch.Generator().manual_seed`) and
/// the Token Merging partitions.
let generateCommand = Subcommand(
    name: "generate",
    usage: "generate [--model DIR] --prompt TEXT [--negative-prompt TEXT] [--width 512 --height 512] [--steps N] "
        + "[--guidance G] [--seed S] [--scheduler \(SchedulerPreset.allCases.map(\.rawValue).joined(separator: "|"))] "
        + ToMeArguments.usage + " " + ToDoArguments.usage + " [--latents FILE] [--save-latents FILE] --output out.png",
    flags: ToMeArguments.flags
) { arguments in
    let request = try GenerateRequest(&arguments)
    try request.run()
}

/// A parsed `tomesd generate` command line.
private struct GenerateRequest {
    let model: URL?
    var configuration: GenerationConfiguration
    let tome: ToMeOptions?
    let todo: ToDoOptions?
    let latentsInput: URL?
    /// `--output`, prepared (see ``OutputFile``) before anything is loaded.
    let output: OutputFile
    /// `--save-latents`, prepared likewise.
    let latentsOutput: OutputFile?

    /// Reads and checks every option, and prepares the outputs, before anything is loaded.
    /// - Throws: ``UsageError`` for a bad option or a refused output; ``PipelineError`` or `TokenizerError` for a
    ///   bad value.
    init(_ arguments: inout Arguments) throws {
        model = arguments.string("model").map { URL(fileURLWithPath: $0) }
        configuration = GenerationConfiguration(prompt: try Self.promptOption(&arguments, "prompt", required: true) ?? "")
        configuration.negativePrompt = try Self.promptOption(&arguments, "negative-prompt", required: false)
        configuration.width = try arguments.int("width") ?? configuration.width
        configuration.height = try arguments.int("height") ?? configuration.height
        configuration.steps = try arguments.int("steps") ?? configuration.steps
        configuration.guidanceScale = Float(try arguments.double("guidance") ?? Double(configuration.guidanceScale))
        todo = try ToDoArguments.parse(&arguments)
        tome = try ToMeArguments.parse(&arguments)
        configuration.seed = try arguments.seed() ?? configuration.seed
        if let name = arguments.string("scheduler") {
            guard let preset = SchedulerPreset(rawValue: name) else {
                throw UsageError("option --scheduler expects one of \(SchedulerPreset.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
            }
            configuration.scheduler = preset
        }
        latentsInput = arguments.string("latents").map { URL(fileURLWithPath: $0) }
        let latentsOutputPath = arguments.string("save-latents")
        let outputPath = try arguments.required("output")
        try arguments.finish()
        do {
            try configuration.validate()
        } catch PipelineError.invalidParameter(let name, let reason) {
            let option = ["width": "--width", "height": "--height", "steps": "--steps", "guidance scale": "--guidance"][name] ?? name
            throw UsageError("option \(option) \(reason)")
        }
        let inputs = [model?.path, latentsInput?.path].compactMap { $0 }
        output = try prepareOutput(outputPath, option: "--output", inputs: inputs)
        latentsOutput = try latentsOutputPath.map { [output] in
            try prepareOutput($0, option: "--save-latents", inputs: inputs, otherOutputs: [output])
        }
    }

    func run() throws {
        var configuration = configuration
        if let latentsInput { configuration.initialLatents = try Self.readLatents(latentsInput) }
        let pipeline = try loadPipeline()
        try pipeline.validate(configuration)
        let patch = try tome.map { try applyPatch(pipeline, options: $0) }
        let downsampling = try todo.map { try applyTokenDownsampling(pipeline, options: $0) }
        if let dropped = pipeline.truncatedPart(of: configuration.prompt) {
            fputs("warning: the prompt is longer than the text encoder's \(pipeline.tokenizer.maxLength) tokens; "
                  + "this part is ignored (as diffusers does): \"\(dropped)\"\n", stderr)
        }
        if configuration.usesGuidance, let negative = configuration.negativePrompt, let dropped = pipeline.truncatedPart(of: negative) {
            fputs("warning: the negative prompt is too long; this part is ignored: \"\(dropped)\"\n", stderr)
        }

        let interrupts = InterruptMonitor()
        interrupts.start(message: "stopping after this step (Ctrl-C again to quit at once); nothing will be written")
        defer { interrupts.stop() }
        let bar = ProgressBar()
        let result: GenerationResult
        do {
            result = try pipeline.generate(configuration) { progress in
                bar.update(step: progress.step, total: progress.totalSteps, elapsed: progress.elapsed)
                return interrupts.isInterrupted ? .cancel : .proceed
            }
        } catch let PipelineError.cancelled(done, total) {
            bar.abandon()
            Self.exitStopped("after \(done) of \(total) steps")
        }
        // A Ctrl-C during decoding or writing still means "stop": nothing is written. Both outputs are put in
        // place together, so that a failure of either leaves neither.
        if interrupts.isInterrupted { Self.exitStopped("while decoding") }
        try result.images[0].writePNG(into: output)
        if let latentsOutput { try SafeTensors.write(["latents": result.latents], into: latentsOutput) }
        if interrupts.isInterrupted { Self.exitStopped("while writing") }
        try OutputFile.commit([output] + (latentsOutput.map { [$0] } ?? []))
        report(result, patch: patch, downsampling: downsampling)
    }

    /// The pipeline of `--model`, or the built-in demo with a note on what it is.
    private func loadPipeline() throws -> StableDiffusionPipeline {
        let start = ProcessMetrics.now()
        let pipeline: StableDiffusionPipeline
        if let model {
            pipeline = try StableDiffusionPipeline(folder: model)
        } else {
            print("""
                No --model given: running the built-in demo pipeline (small models with seeded random weights and CLIP's \
                real vocabulary), which exercises the whole text-to-image path but paints noise. Real images need real \
                weights: download a diffusers Stable Diffusion folder (for example runwayml/stable-diffusion-v1-5, with \
                model_index.json, unet/, vae/, text_encoder/, tokenizer/ and scheduler/) and pass --model DIR.
                """)
            pipeline = try StableDiffusionPipeline.builtInDemo(seed: 0)
        }
        pipeline.releasesTextEncoderAfterUse = true  // one image per run: free its memory for the UNet and the VAE
        print(String(format: "loaded in %.2f s", ProcessMetrics.seconds(since: start)))
        return pipeline
    }

    private func report(_ result: GenerationResult, patch: ToMePatch?, downsampling: ToDoPatch?) {
        let timings = result.timings
        func describe(_ time: StageTime) -> String { String(format: "%.2f s (CPU %.2f s)", time.wall, time.cpu) }
        print("text encoder \(describe(timings.textEncoding)), \(timings.unetSteps) UNet steps \(describe(timings.denoising)), "
              + "VAE decode \(describe(timings.decoding))")
        if let patch { print(ToMeArguments.summary(patch.statistics, forwards: max(timings.unetSteps, 1))) }
        if let downsampling {
            print(ToDoArguments.summary(downsampling.statistics, forwards: max(timings.unetSteps, 1)))
        }
        print(String(format: "peak resident memory: %.1f MiB", Double(ProcessMetrics.lifetimePeakBytes()) / 1048576))
        print("wrote \(output.path)" + (latentsOutput.map { " and \($0.path)" } ?? ""))
    }

    /// The text of a prompt option. Command-line arguments that are not UTF-8 reach Swift with U+FFFD in place of
    /// the bad bytes; then the raw bytes are decoded again so the error points at the first bad byte.
    private static func promptOption(_ arguments: inout Arguments, _ name: String, required: Bool) throws -> String? {
        guard let text = required ? try arguments.required(name) : arguments.string(name) else { return nil }
        guard text.unicodeScalars.contains("\u{FFFD}"), let bytes = rawArgumentBytes(after: "--" + name) else { return text }
        return try PromptText.decode(bytes, source: "--\(name)")
    }

    /// The bytes of the command-line word after `option`, as the operating system passed them.
    private static func rawArgumentBytes(after option: String) -> [UInt8]? {
        let words = (0..<Int(CommandLine.argc)).compactMap { CommandLine.unsafeArgv[$0] }
        guard let index = words.firstIndex(where: { strcmp($0, option) == 0 }), index + 1 < words.count else { return nil }
        let word = words[index + 1]
        return Array(UnsafeBufferPointer(start: word, count: strlen(word))).map { UInt8(bitPattern: $0) }
    }

    /// Ends the process after a Ctrl-C, with the shell's status for an interrupted command (130).
    private static func exitStopped(_ when: String) -> Never {
        fputs("tomesd generate: stopped by Ctrl-C \(when); nothing was written\n", stderr)
        OutputFile.removeTemporaryFiles()
        exit(130)
    }

    /// The tensor "latents" of a safetensors file (or its only tensor).
    private static func readLatents(_ url: URL) throws -> Tensor {
        let file = try SafeTensorsFile(contentsOf: url)
        let names = file.tensorNames
        guard let name = names.contains("latents") ? "latents" : (names.count == 1 ? names.first : nil) else {
            throw PipelineError.invalidParameter(name: "--latents \(url.path)",
                                                 reason: "expected a tensor named \"latents\", found \(names.sorted())")
        }
        return try file.tensor(name)
    }
}
