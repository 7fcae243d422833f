import Foundation
import TensorCore

extension StableDiffusionXLPipeline {
    /// Loads a diffusers SDXL folder (as `save_pretrained` writes it or as published, e.g.
    /// `stabilityai/stable-diffusion-xl-base-1.0`): `model_index.json` (class `StableDiffusionXLPipeline`,
    /// `force_zeros_for_empty_prompt`), `tokenizer/`, `tokenizer_2/`, `text_encoder/` (CLIPTextModel),
    /// `text_encoder_2/` (CLIPTextModelWithProjection), `unet/`, `vae/` and `scheduler/scheduler_config.json`.
    /// Weights may be F32, F16 or BF16 safetensors (full-precision file names first, then the "fp16" variant).
    /// Linear and convolution weights are packed in `precision` (``Precision``), as ``StableDiffusionPipeline``'s.
    /// - Throws: as ``StableDiffusionPipeline/init(folder:precision:)``.
    public convenience init(folder: URL, precision: Precision = .fp32) throws {
        let index = try ModelIndex(folder: folder)
        try index.require("StableDiffusionXLPipeline")
        let schedulerConfig = try SchedulerConfig(
            contentsOf: try ModelFolder.file("scheduler_config.json", in: folder.appendingPathComponent("scheduler")))
        let tokenizer = try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer"))
        let tokenizer2 = try CLIPTokenizer(folder: folder.appendingPathComponent("tokenizer_2"))
        // The UNet first: the largest file is best read while nothing else is loaded (see StableDiffusionPipeline).
        let unetFolder = folder.appendingPathComponent("unet"), vaeFolder = folder.appendingPathComponent("vae")
        try StableDiffusionPipeline.checkWeightsFit(
            unet: unetFolder, vae: vaeFolder,
            textEncoders: ["text_encoder", "text_encoder_2"].map { folder.appendingPathComponent($0) })
        let unet = try UNet2DConditionModel.load(from: unetFolder, precision: precision)
        let vae = try AutoencoderKL.load(from: vaeFolder, precision: precision)
        let loadEncoders = {
            TextEncoders(first: try CLIPTextModel.load(from: folder.appendingPathComponent("text_encoder"), precision: precision),
                         second: try CLIPTextModelWithProjection.load(from: folder.appendingPathComponent("text_encoder_2"),
                                                                      precision: precision))
        }
        try self.init(tokenizer: tokenizer, tokenizer2: tokenizer2, textEncoders: try loadEncoders(), unet: unet, vae: vae,
                      schedulerConfig: schedulerConfig, forceZerosForEmptyPrompt: index.forceZerosForEmptyPrompt,
                      textEncodersLoader: loadEncoders)
    }
}
