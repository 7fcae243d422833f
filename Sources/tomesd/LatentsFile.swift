import Foundation
import StableDiffusion
import TensorCore

/// A latents file of `tomesd generate` (`--latents`, `--save-initial-latents`, `--save-latents`): safetensors with
/// one tensor "latents" (NCHW), and, for initial noise drawn from a seed, that seed in the metadata
/// (`drawn_from_seed`).
///
/// The seed makes replays exact with every scheduler. diffusers' `latents=` argument, which `--latents` follows,
/// leaves the generator untouched, so an ancestral scheduler (euler-a) would draw its per-step noise from another
/// point of the seed's stream than the saved run did. Noise that is exactly what `--seed` draws is therefore run as
/// the seeded run itself: the same initial noise, and the same per-step noise after it.
struct LatentsFile {
    /// The metadata key holding the seed the noise was drawn from.
    static let seedKey = "drawn_from_seed"

    let tensor: Tensor
    /// The seed the tensor was drawn from, when it was.
    let drawnFromSeed: UInt64?

    init(tensor: Tensor, drawnFromSeed: UInt64?) {
        self.tensor = tensor
        self.drawnFromSeed = drawnFromSeed
    }

    /// Reads the tensor "latents" of `url` (or its only tensor) and the seed in its metadata.
    /// - Throws: ``PipelineError/invalidParameter(name:reason:)`` naming the file when it holds no such tensor;
    ///   `SafeTensorsError` for a malformed file.
    init(contentsOf url: URL) throws {
        let file = try SafeTensorsFile(contentsOf: url)
        let names = file.tensorNames
        guard let name = names.contains("latents") ? "latents" : (names.count == 1 ? names.first : nil) else {
            throw PipelineError.invalidParameter(name: "--latents \(url.path)",
                                                 reason: "expected a tensor named \"latents\", found \(names.sorted())")
        }
        tensor = try file.tensor(name)
        drawnFromSeed = file.metadata[Self.seedKey].flatMap { UInt64($0) }
    }

    /// Whether the tensor is exactly the noise that `seed` draws for `shape` (and says it was drawn from `seed`).
    func isNoise(ofSeed seed: UInt64, shape: [Int]) throws -> Bool {
        guard drawnFromSeed == seed, tensor.shape == shape else { return false }
        var generator = TorchGenerator(seed: seed)
        return try generator.standardNormal(shape: shape).scalars == tensor.scalars
    }

    /// Writes the file into `output` (put in place by ``OutputFile/commit(_:)``).
    func write(into output: OutputFile) throws {
        try SafeTensors.write(["latents": tensor], into: output,
                              metadata: drawnFromSeed.map { [Self.seedKey: String($0)] } ?? [:])
    }
}
