import DiffusionPatch
import Foundation
import ImageFiles
import StableDiffusion
import TensorCore

/// `tomesd generate`: text to image with a diffusers Stable Diffusion or SDXL folder (`--model`; `model_index.json`
/// picks the pipeline), or with the built-in
/// demo pipeline (random weights) without it. Shows step progress, stops cleanly on Ctrl-C, and writes `--output`
/// (PNG) only once the image is complete. `--latents FILE` takes the initial noise (safetensors, tensor "latents",
/// NCHW, as diffusers' `latents=` argument) and `--save-initial-latents FILE` writes it, so that a run can be
/// replayed exactly; `--save-latents FILE` writes the final latents (diffusers' `output_type="latent"`). `--seed`
/// seeds the noise (as `torch.Generator().manual_seed`) and the Token Merging partitions. `--init-image PNG
/// --strength S` starts from an image (image-to-image, as diffusers' `StableDiffusionImg2ImgPipeline` and, for
/// SDXL, `StableDiffusionXLImg2ImgPipeline`);
/// `--num-images N` makes N images in one batch, written as ``ImageOutputNames`` says. `--precision bf16`
/// packs the linear and convolution weights of every model as bfloat16 (fp32 by default).
let generateCommand = Subcommand(
    name: "generate",
    summary: "text to image: a diffusers Stable Diffusion folder, or the built-in demo without --model",
    details: "Generates an image (or --num-images of them) for --prompt and writes it to --output (PNG) once complete; Ctrl-C stops "
        + "after the current step and writes nothing. Without --model, a small built-in pipeline with random weights "
        + "runs the whole path in seconds but paints noise.\n\n"
        + "Latents files (safetensors, one tensor \"latents\", NCHW [1, 4, height/8, width/8]): --latents reads the "
        + "initial noise instead of drawing it from --seed, and --save-initial-latents writes that noise, so the same "
        + "command with --latents FILE replays a run exactly, with every scheduler (the file records the seed it was "
        + "drawn from: such noise runs as the seeded run, so euler-a's per-step noise is the same too). --save-latents writes the final latents (after the last "
        + "step, before the VAE decoder: diffusers' output_type=\"latent\"), which are not a starting point.\n\n"
        + "Image-to-image (diffusers' StableDiffusionImg2ImgPipeline, for SDXL StableDiffusionXLImg2ImgPipeline): "
        + "--init-image starts from a PNG instead of pure "
        + "noise; it is encoded by the VAE, noised to the level of the first step taken, and only the last "
        + "floor(steps x strength) steps run. The images take its size (width and height multiples of 8; diffusers "
        + "would resize it). Several images (--num-images N > 1) are one batch from one seed, written as FILE's name "
        + "with -0, -1, ... before the extension (out.png -> out-0.png, out-1.png); all are written or none.",
    options: [
        .value("model", "DIR", "a diffusers Stable Diffusion folder (model_index.json, unet/, vae/, text_encoder/, "
            + "tokenizer/, scheduler/) (default: the built-in demo pipeline, which paints noise)"),
        .value("prompt", "TEXT", required: true, "what to draw"),
        .value("negative-prompt", "TEXT", "what to steer away from; used only with --guidance above 1 (default: none, "
            + "the empty prompt)"),
        .value("width", "PX", "image width, a multiple of 8 (default: the model's, as diffusers: the UNet's sample_size "
               + "× 8, 512 for SD 1.x and the demo, 1024 for SDXL)"),
        .value("height", "PX", "image height, a multiple of 8 (default: the model's, as --width)"),
        .value("steps", "N", default: "\(GenerationConfiguration.defaults.steps)",
               "denoising steps (diffusers' num_inference_steps); PNDM runs N + 1 UNet evaluations, as diffusers: "
               + "its first step takes two"),
        .value("guidance", "G", default: "\(GenerationConfiguration.defaults.guidanceScale)",
               "classifier-free guidance scale; 1 or less runs the prompt alone, without the negative prompt"),
        .value("seed", "S", default: "\(GenerationConfiguration.defaults.seed)",
               "seeds the initial noise (as torch.Generator().manual_seed) and the Token Merging partitions"),
        .value("scheduler", SchedulerPreset.allCases.map(\.rawValue).joined(separator: "|"),
               "the sampler (default: the model's scheduler_config.json class)"),
        .precision,
    ] + ToMeArguments.options + ToDoArguments.options + [
        .value("latents", "FILE", "start from this initial noise instead of drawing it from --seed (diffusers' "
            + "latents=; unit variance, before the scheduler's init_noise_sigma)"),
        .value("save-initial-latents", "FILE", "write this run's initial noise: --latents FILE replays the run exactly"),
        .value("save-latents", "FILE", "write the final latents (before the VAE decoder; not a --latents input)"),
        .value("init-image", "PNG", "image-to-image: start from this 8-bit RGB PNG, whose width and height are "
            + "multiples of 8 and set the images' size (default: none, text to image)"),
        .value("strength", "S", default: "\(GenerationConfiguration.defaults.strength)",
               "with --init-image, how much of it to repaint, in (0, 1]: the last floor(steps x S) steps run "
                   + "(diffusers' SDXL image-to-image defaults to 0.3)"),
        .value("num-images", "N", default: "\(GenerationConfiguration.defaults.imagesPerPrompt)",
               "images from the prompt, one batch (diffusers' num_images_per_prompt, 1 to "
               + "\(GenerationConfiguration.maximumImagesPerPrompt)); N > 1 writes out-0.png, out-1.png, ... for "
               + "--output out.png"),
        .value("output", "FILE", required: true, "the PNG image to write (several: numbered, see --num-images)"),
    ]
) { arguments in
    let request = try GenerateRequest(&arguments)
    try request.run()
}

/// A parsed `tomesd generate` command line.
private struct GenerateRequest {
    let model: URL?
    let precision: Precision
    var configuration: GenerationConfiguration
    /// Whether the width and height are the model's default size (not given, no init image).
    var modelSized = (width: false, height: false)
    let tome: ToMeOptions?
    let todo: ToDoOptions?
    let latentsInput: URL?
    /// `--output`, prepared (see ``OutputFile``) before anything is loaded: one file per image, numbered when there
    /// are several (``ImageOutputNames``).
    let outputs: [OutputFile]
    /// `--save-initial-latents`, prepared likewise.
    let initialLatentsOutput: OutputFile?
    /// `--save-latents`, prepared likewise.
    let latentsOutput: OutputFile?

    /// Reads and checks every option, and prepares the outputs, before anything is loaded.
    /// - Throws: ``UsageError`` for a bad option or a refused output; ``PipelineError`` or `TokenizerError` for a
    ///   bad value.
    init(_ arguments: inout Arguments) throws {
        model = arguments.string("model").map { URL(fileURLWithPath: $0) }
        precision = try parsePrecision(try arguments.required("precision"))
        configuration = GenerationConfiguration(prompt: try Self.promptOption(&arguments, "prompt", required: true) ?? "")
        configuration.negativePrompt = try Self.promptOption(&arguments, "negative-prompt", required: false)
        let (width, height) = (try arguments.int("width"), try arguments.int("height"))
        // A side not given takes the model's size once it is loaded (diffusers' default); 512 stands in until then.
        configuration.width = width ?? GenerationConfiguration.defaults.width
        configuration.height = height ?? GenerationConfiguration.defaults.height
        let explicitSize = width != nil || height != nil
        modelSized = (width == nil, height == nil)
        configuration.steps = try arguments.requiredInt("steps")
        configuration.guidanceScale = Float(try arguments.requiredDouble("guidance"))
        todo = try ToDoArguments.parse(&arguments)
        tome = try ToMeArguments.parse(&arguments)
        configuration.seed = try arguments.seed()
        if let name = arguments.string("scheduler") {
            guard let preset = SchedulerPreset(rawValue: name) else {
                throw UsageError("option --scheduler expects one of \(SchedulerPreset.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
            }
            configuration.scheduler = preset
        }
        latentsInput = arguments.string("latents").map { URL(fileURLWithPath: $0) }
        let initialLatentsOutputPath = arguments.string("save-initial-latents")
        let latentsOutputPath = arguments.string("save-latents")
        let outputPath = try arguments.required("output")
        configuration.imagesPerPrompt = try arguments.requiredInt("num-images")
        let initImage = arguments.string("init-image")
        let strengthGiven = arguments.isGiven("strength")
        let strength = try arguments.requiredDouble("strength")
        try arguments.finish()
        if let initImage {
            modelSized = (false, false)  // the image sets the size
            try Self.readInitImage(initImage, into: &configuration, explicitSize: explicitSize)
            configuration.strength = strength
        } else if strengthGiven {
            throw UsageError("option --strength needs --init-image (it says how much of that image to repaint)")
        }
        if initImage != nil, latentsInput != nil || initialLatentsOutputPath != nil {
            throw UsageError("option \(latentsInput != nil ? "--latents" : "--save-initial-latents") cannot be combined with "
                             + "--init-image (image-to-image draws its noise from --seed after the image's latents)")
        }
        do {
            try configuration.validate()
        } catch PipelineError.invalidParameter(let name, let reason) {
            let option = ["width": "--width", "height": "--height", "steps": "--steps", "guidance scale": "--guidance",
                          "strength": "--strength", "images per prompt": "--num-images"][name] ?? name
            throw UsageError("option \(option) \(reason)")
        }
        let inputs = [model?.path, latentsInput?.path, initImage].compactMap { $0 }
        var prepared: [OutputFile] = []
        for url in ImageOutputNames.urls(for: URL(fileURLWithPath: outputPath), count: configuration.imagesPerPrompt) {
            prepared.append(try prepareOutput(url.path, option: "--output", inputs: inputs, otherOutputs: prepared))
        }
        outputs = prepared
        initialLatentsOutput = try initialLatentsOutputPath.map { [prepared] in
            try prepareOutput($0, option: "--save-initial-latents", inputs: inputs, otherOutputs: prepared)
        }
        latentsOutput = try latentsOutputPath.map { [prepared, initialLatentsOutput] in
            try prepareOutput($0, option: "--save-latents", inputs: inputs,
                              otherOutputs: prepared + [initialLatentsOutput].compactMap { $0 })
        }
    }

    func run() throws {
        var configuration = configuration
        if !configuration.usesGuidance, configuration.negativePrompt != nil {
            fputs("note: --negative-prompt is not used with --guidance \(configuration.guidanceScale) (guidance 1 or less "
                  + "runs the prompt alone, as diffusers)\n", stderr)
        }
        let latents = try latentsInput.map { try LatentsFile(contentsOf: $0) }
        let pipeline = try loadPipeline()
        if modelSized.width { configuration.width = pipeline.defaultImageSize }
        if modelSized.height { configuration.height = pipeline.defaultImageSize }
        let shape = pipeline.latentShape(width: configuration.width, height: configuration.height, batch: 1)
        if let latents, try !latents.isNoise(ofSeed: configuration.seed, shape: shape) {
            configuration.initialLatents = latents.tensor
        }
        try pipeline.validate(configuration)
        let patch = try tome.map { try applyPatch(pipeline.unet, options: $0) }
        if let patch { ToMeArguments.noticeIfIdle(patch, model: pipeline.unet) }
        let downsampling = try todo.map { try applyTokenDownsampling(pipeline.unet, options: $0) }
        if let downsampling { ToDoArguments.noticeIfIdle(downsampling, model: pipeline.unet) }
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
                if progress.step == 1, progress.totalSteps != configuration.steps {
                    fputs("note: --steps \(configuration.steps) runs \(progress.totalSteps) UNet steps with this scheduler "
                          + "(PNDM's first step takes two, as diffusers)\n", stderr)
                }
                bar.update(step: progress.step, total: progress.totalSteps, elapsed: progress.elapsed)
                return interrupts.isInterrupted ? .cancel : .proceed
            }
        } catch let PipelineError.cancelled(done, total) {
            bar.abandon()
            Self.exitStopped("after \(done) of \(total) steps")
        }
        // A Ctrl-C during decoding or writing still means "stop": nothing is written. All the outputs are put in
        // place together, so that a failure of any leaves none.
        if interrupts.isInterrupted { Self.exitStopped("while decoding") }
        for (image, output) in zip(result.images, outputs) { try image.writePNG(into: output) }
        if let initialLatentsOutput {
            let drawnFromSeed = configuration.initialLatents == nil ? configuration.seed : nil
            try LatentsFile(tensor: result.initialLatents, drawnFromSeed: drawnFromSeed).write(into: initialLatentsOutput)
        }
        if let latentsOutput { try SafeTensors.write(["latents": result.latents], into: latentsOutput) }
        if interrupts.isInterrupted { Self.exitStopped("while writing") }
        try OutputFile.commit(outputs + [initialLatentsOutput, latentsOutput].compactMap { $0 })
        report(result, patch: patch, downsampling: downsampling)
    }

    /// The pipeline of `--model`, or the built-in demo with a note on what it is.
    private func loadPipeline() throws -> any TextToImagePipeline {
        let start = ProcessMetrics.now()
        let pipeline: any TextToImagePipeline
        if let model {
            pipeline = try loadTextToImagePipeline(folder: model, precision: precision)
        } else {
            print("""
                No --model given: running the built-in demo pipeline (small models with seeded random weights and CLIP's \
                real vocabulary), which exercises the whole text-to-image path but paints noise. Real images need real \
                weights: download a diffusers Stable Diffusion folder (for example runwayml/stable-diffusion-v1-5, with \
                model_index.json, unet/, vae/, text_encoder/, tokenizer/ and scheduler/) and pass --model DIR.
                """)
            pipeline = try StableDiffusionPipeline.builtInDemo(seed: 0, precision: precision)
        }
        pipeline.releasesTextEncoderAfterUse = true  // one generation per run: free its memory for the UNet and the VAE
        print(String(format: "loaded in %.2f s", ProcessMetrics.seconds(since: start)))
        return pipeline
    }

    private func report(_ result: GenerationResult, patch: ToMePatch?, downsampling: ToDoPatch?) {
        let timings = result.timings
        func describe(_ time: StageTime) -> String { String(format: "%.2f s (CPU %.2f s)", time.wall, time.cpu) }
        let steps = timings.unetSteps == 1 ? "1 UNet step" : "\(timings.unetSteps) UNet steps"
        let encoding = configuration.initImage == nil ? "" : "VAE encode \(describe(timings.imageEncoding)), "
        print("text encoder \(describe(timings.textEncoding)), \(encoding)\(steps) \(describe(timings.denoising)), "
              + "VAE decode \(describe(timings.decoding))")
        if let patch { print(ToMeArguments.summary(patch.statistics, forwards: max(timings.unetSteps, 1))) }
        if let downsampling {
            print(ToDoArguments.summary(downsampling.statistics, forwards: max(timings.unetSteps, 1)))
        }
        print(String(format: "peak resident memory: %.1f MiB", Double(ProcessMetrics.lifetimePeakBytes()) / 1048576))
        print("wrote " + (outputs + [initialLatentsOutput, latentsOutput].compactMap { $0 }).map(\.path)
            .joined(separator: ", "))
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

    /// Reads `--init-image` (exit 1 naming the file when it is not a readable 8-bit RGB PNG) into `configuration`;
    /// `--width`/`--height`, when given, must be its size.
    private static func readInitImage(_ path: String, into configuration: inout GenerationConfiguration, explicitSize: Bool) throws {
        let image = try RGBImage(contentsOfPNG: URL(fileURLWithPath: path))
        guard image.width % 8 == 0, image.height % 8 == 0 else {
            throw ImageError.invalidDimensions(
                "\(path): \(image.width)×\(image.height) is not a multiple of 8 in both directions (resize or crop it; diffusers would resize it)")
        }
        if explicitSize, configuration.width != image.width || configuration.height != image.height {
            throw UsageError("options --width/--height (\(configuration.width)×\(configuration.height)) differ from --init-image's size "
                             + "\(image.width)×\(image.height); the image sets the size, leave them out")
        }
        configuration.initImage = image
    }

    /// Ends the process after a Ctrl-C, with the shell's status for an interrupted command (130).
    private static func exitStopped(_ when: String) -> Never {
        fputs("tomesd generate: stopped by Ctrl-C \(when); nothing was written\n", stderr)
        OutputFile.removeTemporaryFiles()
        exit(130)
    }
}
