import TensorCore

/// Upper bounds on the sizes a configuration file may give, and the check that a model or a run fits in memory.
///
/// A size read from a file is checked against these before anything is built from it, so a hostile or broken
/// `config.json` is an error naming the key rather than an overflowing shape product or an allocation the machine
/// cannot make. The bounds are far above every published Stable Diffusion model (SDXL: 1280 channels, 10
/// transformer layers per block, 3 levels; its text encoders: 1280 wide, 32 layers, 49 408 tokens).
enum ConfigLimits {
    /// The most channels (widths) of any layer: `block_out_channels`, `cross_attention_dim`, `hidden_size`...
    static let channels = 1 << 16
    /// The most layers of one kind in one place: `layers_per_block`, `transformer_layers_per_block`,
    /// `num_hidden_layers`.
    static let layers = 1 << 10
    /// The most resolution levels (UNet down blocks, VAE levels): each halves the image.
    static let levels = 8
    /// The largest convolution kernel (`conv_in_kernel`, `conv_out_kernel`) and padding (`downsample_padding`).
    static let kernel = 15
    /// The largest text-encoder vocabulary (`vocab_size`).
    static let vocabulary = 1 << 24
    /// The most positions of a text encoder (`max_position_embeddings`; CLIP's: 77): its attention holds a full
    /// positions × positions score matrix per thread.
    static let positions = 1 << 12
    /// The largest `sample_size` (informational, but still a size).
    static let sampleSize = 1 << 16
    /// The most training timesteps of a scheduler (`num_train_timesteps`; Stable Diffusion's: 1000), which also
    /// bounds the denoising steps of a run.
    static let trainTimesteps = 100_000

    /// Throws unless every value of `values` is at most `limit`.
    /// - Throws: ``ConfigError/invalid(path:key:reason:)`` naming `key`.
    static func check(_ values: [Int], atMost limit: Int, key: String, path: String) throws {
        if let bad = values.first(where: { $0 > limit }) {
            throw ConfigError.invalid(path: path, key: key, reason: "\(bad) is over the limit of \(limit)")
        }
    }

    /// Throws when `bytes` (nil: too large to count) is more than the machine's physical memory.
    /// - Parameters:
    ///   - what: what needs the memory ("the weights of 1.2 × 10¹² parameters").
    ///   - keys: the keys that set the size.
    /// - Throws: ``ConfigError/invalid(path:key:reason:)`` naming `keys`.
    static func checkFits(_ bytes: Int?, _ what: String, keys: String, path: String) throws {
        let memory = CheckedSize.physicalMemoryBytes
        guard let bytes, bytes <= memory else {
            let size = bytes.map { "about " + CheckedSize.describe(bytes: $0) } ?? "more bytes than can be counted"
            throw ConfigError.invalid(path: path, key: keys,
                                      reason: "\(what) would need \(size), more than this machine's \(CheckedSize.describe(bytes: memory)) of memory")
        }
    }
}
