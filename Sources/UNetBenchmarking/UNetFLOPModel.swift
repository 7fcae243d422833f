import DiffusionPatch
import StableDiffusion
import ToMe

/// A FLOP count of one UNet forward, with or without Token Merging and Token Downsampling: 2 FLOPs per multiply-add of every convolution,
/// linear layer and attention product (norms, activations, softmax and the timestep embedding are left out; they
/// are well under 1 % of an SD UNet). The ratio of two counts is the speed-up ToMe can give at best when every
/// FLOP costs the same; tomesd's SD 1.5 figures (×1.12 at 512² batch 2, ×1.39 at 1024²) come out of it.
public struct UNetFLOPModel {
    /// The architecture counted.
    public let config: UNetConfig

    /// A model of `config`'s forward.
    public init(config: UNetConfig) {
        self.config = config
    }

    /// FLOPs of one forward on a `batch × latentHeight × latentWidth` latent with `contextTokens` text tokens,
    /// patched with Token Merging `options` and/or Token Downsampling `downsampling` (nil: not patched with it).
    public func flops(latentHeight: Int, latentWidth: Int, batch: Int, contextTokens: Int = 77,
                      options: ToMeOptions? = nil, downsampling: ToDoOptions? = nil) -> Double {
        var count = Counter(config: config, latentHeight: latentHeight, latentWidth: latentWidth,
                            contextTokens: contextTokens, options: options, downsampling: downsampling)
        count.forward()
        return 2 * count.multiplyAdds * Double(batch)
    }
}

/// Walks the UNet's layers the way ``UNet2DConditionModel`` runs them, summing multiply-adds of one batch element.
private struct Counter {
    let config: UNetConfig
    let latentHeight: Int, latentWidth: Int, contextTokens: Int
    let options: ToMeOptions?
    let downsampling: ToDoOptions?
    var multiplyAdds = 0.0

    init(config: UNetConfig, latentHeight: Int, latentWidth: Int, contextTokens: Int, options: ToMeOptions?,
         downsampling: ToDoOptions?) {
        self.config = config
        self.latentHeight = latentHeight
        self.latentWidth = latentWidth
        self.contextTokens = contextTokens
        self.options = options
        self.downsampling = downsampling
    }

    /// Tokens of the feature map `level` times downsampled (stride-2 convolutions with padding 1: `ceil(n / 2)`).
    func tokens(_ level: Int) -> Int {
        var (height, width) = (latentHeight, latentWidth)
        for _ in 0..<level { (height, width) = ((height + 1) / 2, (width + 1) / 2) }
        return height * width
    }

    mutating func forward() {
        let channels = config.blockOutChannels, last = channels.count - 1
        convolution(tokens(0), kernel: config.convInKernel, config.inChannels, channels[0])
        var input = channels[0]
        var skips = [channels[0]]
        for (index, type) in config.downBlockTypes.enumerated() {
            for _ in 0..<config.layersPerBlock[index] {
                resnet(tokens(index), input, channels[index])
                input = channels[index]
                if type == .crossAttention { transformer(level: index, channels: input, block: index) }
                skips.append(input)
            }
            if index < last {
                convolution(tokens(index + 1), kernel: 3, input, input)
                skips.append(input)
            }
        }
        if config.midBlockType != nil {
            resnet(tokens(last), input, input)
            transformer(level: last, channels: input, block: last)
            resnet(tokens(last), input, input)
        }
        for (index, type) in config.upBlockTypes.enumerated() {
            let level = last - index, output = channels[level]
            for _ in 0...config.layersPerBlock[level] {
                resnet(tokens(level), input + skips.removeLast(), output)
                input = output
                if type == .crossAttention { transformer(level: level, channels: output, block: level) }
            }
            if index < last { convolution(tokens(level - 1), kernel: 3, output, output) }
        }
        convolution(tokens(0), kernel: config.convOutKernel, channels[0], config.outChannels)
    }

    mutating func convolution(_ outputTokens: Int, kernel: Int, _ input: Int, _ output: Int) {
        multiplyAdds += Double(outputTokens * kernel * kernel) * Double(input * output)
    }

    mutating func resnet(_ tokens: Int, _ input: Int, _ output: Int) {
        convolution(tokens, kernel: 3, input, output)
        convolution(tokens, kernel: 3, output, output)
        if input != output { convolution(tokens, kernel: 1, input, output) }
    }

    /// A Transformer2D model of down block `block`'s settings at `level`: projections and its transformer blocks.
    mutating func transformer(level: Int, channels c: Int, block: Int) {
        let n = tokens(level)
        convolution(n, kernel: 1, c, c)
        convolution(n, kernel: 1, c, c)
        let merged = mergedTokens(n)
        let selfTokens = options?.mergeAttention == true ? n - merged : n
        let crossTokens = options?.mergeCrossAttention == true ? n - merged : n
        let mlpTokens = options?.mergeMLP == true ? n - merged : n
        let keyValueTokens = keyValueGrid(n).map { $0.height * $0.width } ?? selfTokens
        let (channels, context, width) = (Double(c), Double(contextTokens), Double(config.crossAttentionDim[block]))
        for _ in 0..<config.transformerLayersPerBlock[block] {
            let s = Double(selfTokens), x = Double(crossTokens), m = Double(mlpTokens), kv = Double(keyValueTokens)
            multiplyAdds += 2 * s * channels * channels + 2 * kv * channels * channels  // attn1: q, out; k, v
                + 2 * s * kv * channels                                                   //        QKᵀ, AV
            multiplyAdds += 2 * x * channels * channels + 2 * context * width * channels  // attn2: q, out; k, v
                + 2 * x * context * channels                                              //        QKᵀ, AV
            multiplyAdds += 12 * m * channels * channels                                  // GEGLU ff: c→8c, 4c→c
        }
    }

    /// The key/value grid Token Downsampling gives a block of `n` tokens (nil: none, or where it would fail).
    func keyValueGrid(_ n: Int) -> (height: Int, width: Int)? {
        guard let grid = downsampling?.keyValueGrid(tokens: n, latentHeight: latentHeight, latentWidth: latentWidth),
              grid.height * grid.width == n, grid.keyValueHeight >= 1, grid.keyValueWidth >= 1 else { return nil }
        return (grid.keyValueHeight, grid.keyValueWidth)
    }

    /// Tokens a block of `n` tokens merges under the patch (0 unpatched, and where tomesd would fail).
    func mergedTokens(_ n: Int) -> Int {
        guard let options, options.mergesAnySubLayer,
              let grid = MergeGrid(tokens: n, latentHeight: latentHeight, latentWidth: latentWidth,
                                   ratio: options.ratio, maxDownsample: options.maxDownsample),
              grid.fits(tokens: n), grid.holdsCell(sx: options.sx, sy: options.sy) else { return 0 }
        return grid.clampedR(sx: options.sx, sy: options.sy)
    }
}
