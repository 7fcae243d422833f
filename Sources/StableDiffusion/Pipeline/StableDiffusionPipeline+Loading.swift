import Foundation
import TensorCore

extension StableDiffusionPipeline {
    /// Loads a diffusers Stable Diffusion folder (SD 1.x or 2.x, as `save_pretrained` writes it or as published):
    /// `model_index.json`, `tokenizer/`, `text_encoder/`, `unet/`, `vae/` and `scheduler/scheduler_config.json`.
    /// Weights may be F32, F16 or BF16 safetensors (full-precision file names first, then the "fp16" variant); the
    /// linear and convolution weights of the text encoder, UNet and VAE are packed in `precision`.
    /// - Throws: ``PipelineError`` for a missing index, component or subfolder or an unsupported pipeline class,
    ///   each naming it; the component loaders' errors (``WeightError``, ``ConfigError``, ``TokenizerError``,
    ///   ``SchedulerError``, `SafeTensorsError`) for a component that cannot be read;
    ///   ``PipelineError/incompatibleComponents(_:)`` when they do not fit together.
    public convenience init(folder: URL, precision: Precision = .fp32) throws {
        _ = try ModelIndex(folder: folder)
        let schedulerConfig = try SchedulerConfig(
            contentsOf: try ModelFolder.file("scheduler_config.json", in: folder.appendingPathComponent("scheduler")))
        let tokenizer = try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer"))
        // The UNet first: while a weight file is read, its mapped pages count as resident memory on top of the
        // converted weights, so the largest file is best read while nothing else is loaded.
        let unetFolder = folder.appendingPathComponent("unet")
        let vaeFolder = folder.appendingPathComponent("vae")
        let textEncoderFolder = folder.appendingPathComponent("text_encoder")
        try Self.checkWeightsFit(unet: unetFolder, vae: vaeFolder, textEncoder: textEncoderFolder)
        let unet = try UNet2DConditionModel.load(from: unetFolder, precision: precision)
        let vae = try AutoencoderKL.load(from: vaeFolder, precision: precision)
        let textEncoder = try CLIPTextModel.load(from: textEncoderFolder, precision: precision)
        try self.init(tokenizer: tokenizer, textEncoder: textEncoder, unet: unet, vae: vae, schedulerConfig: schedulerConfig,
                      textEncoderLoader: { try CLIPTextModel.load(from: textEncoderFolder, precision: precision) })
    }

    /// Reads the three models' `config.json` files (each validated, so each model fits alone) and throws when their
    /// weights cannot fit in memory together, before any weight is read.
    /// - Throws: ``ConfigError`` naming the files.
    private static func checkWeightsFit(unet: URL, vae: URL, textEncoder: URL) throws {
        let unetConfig = try UNetConfig.load(from: try ModelFolder.file("config.json", in: unet))
        let vaeConfig = try VAEConfig.load(from: try ModelFolder.file("config.json", in: vae))
        let textConfig = try CLIPTextConfig.load(from: try ModelFolder.file("config.json", in: textEncoder))
        let parameters = CheckedSize.sum([unetConfig.minimumParameterCount, vaeConfig.minimumDecoderParameterCount,
                                          textConfig.parameterCount])
        try ConfigLimits.checkFits(parameters.flatMap { CheckedSize.product([MemoryLayout<Float>.stride, $0]) },
                                   "the weights of the UNet, the VAE and the text encoder together",
                                   keys: "unet/, vae/, text_encoder/ config.json", path: unet.deletingLastPathComponent().path)
    }
}
