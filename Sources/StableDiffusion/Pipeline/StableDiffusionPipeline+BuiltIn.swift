import TensorCore

extension StableDiffusionPipeline {
    /// A small pipeline with seeded random weights and CLIP's real vocabulary, to run the whole text-to-image path
    /// without a download (`tomesd generate` without `--model`). Its images are noise: real images need real
    /// weights, such as a diffusers folder of `runwayml/stable-diffusion-v1-5` loaded with ``init(folder:precision:)``.
    ///
    /// Architecture: SD 1.x's, scaled down — a 2-layer CLIP text encoder of width 64 on the full 49 408-token
    /// vocabulary, a two-level UNet of 32 and 64 channels, a four-level VAE decoder of 16 to 32 channels (8× upscaling,
    /// as SD's), and SD 1.5's PNDM scheduler configuration.
    ///
    /// Everything it needs is compiled into the binary (CLIP's merges included): any copy of a program runs it.
    /// Linear and convolution weights are packed in `precision`.
    /// - Throws: only if the package's own embedded merges are corrupt (a build defect).
    public static func builtInDemo(seed: UInt64 = 0, precision: Precision = .fp32) throws -> StableDiffusionPipeline {
        let tokenizer = try CLIPTokenizer(gzippedCLIPMerges: BuiltInResources.clipMergesGzip,
                                          source: "built-in CLIP merges")
        let textConfig = BuiltInDemo.textEncoder
        let makeTextEncoder = { try CLIPTextModel(config: textConfig, seed: seed, precision: precision) }
        return try StableDiffusionPipeline(
            tokenizer: tokenizer, textEncoder: try makeTextEncoder(),
            unet: try UNet2DConditionModel(config: BuiltInDemo.unet, seed: seed &+ 1, precision: precision),
            vae: try AutoencoderKL(config: BuiltInDemo.vae, seed: seed &+ 2, precision: precision),
            schedulerConfig: BuiltInDemo.scheduler, textEncoderLoader: makeTextEncoder)
    }
}

/// The configurations of ``StableDiffusionPipeline/builtInDemo(seed:precision:)``.
enum BuiltInDemo {
    static var textEncoder: CLIPTextConfig {
        var config = CLIPTextConfig()
        config.hiddenSize = 64
        config.intermediateSize = 256
        config.numHiddenLayers = 2
        config.numAttentionHeads = 4
        return config
    }

    static var unet: UNetConfig {
        var config = UNetConfig()
        config.blockOutChannels = [32, 64]
        config.layersPerBlock = [1, 1]
        config.downBlockTypes = [.crossAttention, .plain]
        config.upBlockTypes = [.plain, .crossAttention]
        config.crossAttentionDim = [64, 64]
        config.transformerLayersPerBlock = [1, 1]
        config.attentionHeads = [1, 2]
        config.normNumGroups = 8
        config.sampleSize = 64
        return config
    }

    static var vae: VAEConfig {
        var config = VAEConfig()
        config.blockOutChannels = [16, 32, 32, 32]
        config.normNumGroups = 8
        return config
    }

    /// Stable Diffusion 1.5's `scheduler_config.json`.
    static var scheduler: SchedulerConfig {
        var config = SchedulerConfig()
        config.className = SchedulerKind.pndm.className
        config.numTrainTimesteps = 1000
        config.betaStart = 0.00085
        config.betaEnd = 0.012
        config.betaSchedule = "scaled_linear"
        config.setAlphaToOne = false
        config.skipPrkSteps = true
        config.stepsOffset = 1
        config.clipSample = false
        return config
    }
}
