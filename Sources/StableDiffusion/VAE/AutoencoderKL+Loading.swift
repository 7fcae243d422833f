import Foundation
import TensorCore

extension AutoencoderKL {
    /// The weight file names tried, in order: full precision first, then diffusers' "fp16" variant.
    public static let weightFileNames = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]

    /// The attention parameter names of checkpoints saved before diffusers 0.14, by today's name (diffusers'
    /// `_convert_deprecated_attention_blocks`).
    static let deprecatedAttentionNames = ["to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"]

    /// Loads a diffusers `vae/` folder: `config.json` and a weight file from ``weightFileNames``. The encoder is
    /// built when the file holds its weights (`encoder.*`, as every diffusers VAE does; without them the VAE can only
    /// decode); attention weights under their pre-0.14 names (`query`, `key`, `value`, `proj_attn`) are read as well. Weights stored as F32, F16 or BF16 are read one at a time
    /// into a reused buffer and packed in `precision`.
    /// - Throws: ``WeightError`` for a missing file or weights that do not fit the configuration, ``ConfigError``
    ///   for the configuration, ``SafeTensorsError`` for a malformed or truncated weight file.
    public static func load(from folder: URL, precision: Precision = .fp32) throws -> AutoencoderKL {
        let config = try VAEConfig.load(from: try ModelFolder.file("config.json", in: folder))
        let file = try SafeTensorsFile(contentsOf: try ModelFolder.weightFile(in: folder, candidates: weightFileNames))
        let stored = Set(file.tensorNames)
        let hasEncoder = stored.contains("encoder.conv_in.weight")
        let source = RenamingParameterSource(
            SafeTensorsParameterSource(file: file),
            ignoring: { hasEncoder ? false : $0.hasPrefix("encoder.") || $0.hasPrefix("quant_conv.") },
            storedName: { name in
                guard !stored.contains(name) else { return name }
                for (current, deprecated) in deprecatedAttentionNames where name.contains(".attentions.0.\(current).") {
                    let legacy = name.replacingOccurrences(of: ".attentions.0.\(current).", with: ".attentions.0.\(deprecated).")
                    if stored.contains(legacy) { return legacy }
                }
                return name
            })
        return try AutoencoderKL(config: config, parameters: source, includesEncoder: hasEncoder, precision: precision)
    }
}
