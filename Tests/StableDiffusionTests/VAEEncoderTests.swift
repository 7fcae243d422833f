import Foundation
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The VAE encoder against diffusers' `AutoencoderKL.encode(x).latent_dist` (fixtures: `make_img2img_fixtures.py`).
final class VAEEncoderTests: XCTestCase {
    /// Mean, log-variance and standard deviation at 1e-4, and a seeded sample, for SD 1 style (three levels) and SD 2
    /// style (two levels, attention weights under the pre-0.14 names), a batch of 2, with each attention kind.
    func testEncodeMatchesDiffusers() throws {
        for style in PipelineFixtures.styles {
            let vae = try AutoencoderKL.load(from: PipelineFixtures.folder(style).appendingPathComponent("vae"))
            XCTAssertTrue(vae.hasEncoder)
            let reference = try ImageToImageFixtures.tensors(style)
            let images = try reference.tensor("vae.encode.input").permuted([0, 2, 3, 1])
            for implementation in AttentionImplementation.allCases {
                vae.attentionImplementation = implementation
                let distribution = try vae.encode(images)
                let label = "\(style) \(implementation)"
                XCTAssertEqual(distribution.mean.shape, try reference.tensor("vae.encode.mean").shape, label)
                assertClose(distribution.mean.scalars, try reference.tensor("vae.encode.mean").scalars, tolerance: 1e-4, "\(label) mean")
                assertClose(distribution.mode().scalars, try reference.tensor("vae.encode.mean").scalars, tolerance: 1e-4, "\(label) mode")
                assertClose(distribution.logVariance.scalars, try reference.tensor("vae.encode.logvar").scalars, tolerance: 1e-4,
                            "\(label) logvar")
                assertClose(distribution.standardDeviation.scalars, try reference.tensor("vae.encode.std").scalars, tolerance: 1e-4,
                            "\(label) std")
                var generator = TorchGenerator(seed: 3)
                assertClose(try distribution.sample(using: &generator).scalars, try reference.tensor("vae.encode.sample").scalars,
                            tolerance: 1e-4, "\(label) sample")
            }
        }
    }

    /// The log-variance is clamped to [-30, 20] as diffusers does; the means are the first half of the channels.
    func testDistributionSplitsAndClamps() throws {
        let parameters = try Tensor(shape: [1, 2, 1, 2], scalars: [0.5, -1, 50, -50])
        let distribution = try DiagonalGaussianDistribution(parameters: parameters)
        XCTAssertEqual(distribution.mean.scalars, [0.5, -1])
        XCTAssertEqual(distribution.logVariance.scalars, [20, -30])
        XCTAssertEqual(distribution.standardDeviation.scalars, [Float(exp(10.0)), Float(exp(-15.0))].map { $0 }, accuracy: 1e-3)
        XCTAssertThrowsError(try DiagonalGaussianDistribution(parameters: Tensor(zeros: [1, 3, 1, 1])))
    }

    /// Images of the wrong shape are rejected with a typed error; a VAE file without encoder weights loads for
    /// decoding only and says so when asked to encode.
    func testRejectsBadImagesAndMissingEncoder() throws {
        let vae = try AutoencoderKL.load(from: PipelineFixtures.folder("sd1").appendingPathComponent("vae"))
        for shape in [[1, 10, 16, 3], [1, 16, 16, 4], [16, 16, 3], [1, 2, 2, 3]] {
            XCTAssertThrowsError(try vae.encode(Tensor(zeros: shape)), "\(shape)") { XCTAssertTrue($0 is TensorError, "\($0)") }
        }
        let copy = try PipelineFixtures.copy("sd1", for: self).appendingPathComponent("vae")
        let weights = copy.appendingPathComponent("diffusion_pytorch_model.safetensors")
        let file = try SafeTensorsFile(contentsOf: weights)
        var kept: [String: Tensor] = [:]
        for name in file.tensorNames where !name.hasPrefix("encoder.") && !name.hasPrefix("quant_conv.") {
            kept[name] = try file.tensor(name)
        }
        try SafeTensors.write(kept, to: weights)
        let decoderOnly = try AutoencoderKL.load(from: copy)
        XCTAssertFalse(decoderOnly.hasEncoder)
        XCTAssertThrowsError(try decoderOnly.encode(Tensor(zeros: [1, 16, 16, 3]))) { error in
            guard case PipelineError.invalidParameter(let name, _)? = error as? PipelineError else { return XCTFail("\(error)") }
            XCTAssertEqual(name, "VAE")
        }
    }
}

private func XCTAssertEqual(_ actual: [Float], _ expected: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, file: file, line: line)
    for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: accuracy * max(1, abs(e)), file: file, line: line) }
}
