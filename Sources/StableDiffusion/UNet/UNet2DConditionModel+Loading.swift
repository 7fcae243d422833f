import Foundation
import TensorCore

extension UNet2DConditionModel {
    /// The weight file names tried, in order: full precision first, then diffusers' "fp16" variant.
    public static let weightFileNames = ["diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors"]

    /// Loads a diffusers UNet folder (`config.json` and a weight file from ``weightFileNames``), or a pipeline folder
    /// whose `unet/` is one. Weights stored as F32, F16 or BF16 are read one at a time into a reused buffer and
    /// packed in `precision` (bfloat16 panels take half the memory of fp32 ones; no fp32 copy of the model is kept).
    /// - Throws: ``WeightError`` for a missing file or weights that do not fit the configuration (listing every
    ///   missing, unexpected and mis-shaped tensor), ``ConfigError`` for the configuration, ``SafeTensorsError``
    ///   for a malformed or truncated weight file.
    public static func load(from url: URL, precision: Precision = .fp32) throws -> UNet2DConditionModel {
        let folder = try unetFolder(url)
        let config = try UNetConfig.load(from: folder.appendingPathComponent("config.json"))
        let fileManager = FileManager.default
        guard let weights = weightFileNames.map({ folder.appendingPathComponent($0) })
            .first(where: { fileManager.fileExists(atPath: $0.path) }) else {
            throw WeightError.missingFile(path: folder.path, reason: "no weight file: expected one of "
                + weightFileNames.joined(separator: ", ") + " (PyTorch .bin and sharded checkpoints are not supported)")
        }
        let file = try SafeTensorsFile(contentsOf: weights)
        return try UNet2DConditionModel(config: config, parameters: SafeTensorsParameterSource(file: file), precision: precision)
    }

    /// `url` itself when it holds `config.json`, else its `unet/` subfolder when that does.
    private static func unetFolder(_ url: URL) throws -> URL {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw WeightError.missingFile(path: url.path, reason: "not a folder")
        }
        for candidate in [url, url.appendingPathComponent("unet")]
            where fileManager.fileExists(atPath: candidate.appendingPathComponent("config.json").path) {
            return candidate
        }
        throw WeightError.missingFile(path: url.path, reason: "neither a UNet folder (config.json) nor a pipeline folder (unet/config.json)")
    }
}
