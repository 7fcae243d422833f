import Foundation
import ImageFiles
import TensorCore
import XCTest

/// The image-to-image and several-images fixtures beside each pipeline fixture (`img2img.json`,
/// `img2img.safetensors`, `init-image.png`, written by `Scripts/reference/make_img2img_fixtures.py`, and for SDXL
/// `make_sdxl_img2img_fixtures.py`): diffusers'
/// `StableDiffusionImg2ImgPipeline` and `num_images_per_prompt` runs on the tiny pipelines.
public enum ImageToImageFixtures {
    /// The reference tensors of a style.
    public static func tensors(_ style: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(contentsOf: PipelineFixtures.folder(style).appendingPathComponent("img2img.safetensors"))
    }

    /// The init image every image-to-image case of a style starts from.
    public static func initImage(_ style: String) throws -> RGBImage {
        try RGBImage(contentsOfPNG: PipelineFixtures.folder(style).appendingPathComponent("init-image.png"))
    }

    /// The cases of a style.
    public static func cases(_ style: String) throws -> [Case] {
        struct File: Decodable { let cases: [Case] }
        let url = PipelineFixtures.folder(style).appendingPathComponent("img2img.json")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    /// One diffusers run.
    public struct Case: Decodable {
        public let name: String
        /// "img2img" or "txt2img".
        public let mode: String
        public let scheduler: String
        public let steps: Int
        public let guidance: Float
        /// Image-to-image only.
        public let strength: Double?
        public let numImages: Int
        /// The ratio of `tomesd.apply_patch(pipe, ratio, use_rand=False)`, or nil without Token Merging.
        public let tome: Double?
        public let negativePrompt: String?
        public let prompt: String
        public let seed: UInt64
        public let height: Int
        public let width: Int

        /// Whether the run started from the init image.
        public var isImageToImage: Bool { mode == "img2img" }

        enum CodingKeys: String, CodingKey {
            case name, mode, scheduler, steps, guidance, strength, tome, prompt, seed, height, width
            case numImages = "num_images"
            case negativePrompt = "negative_prompt"
        }
    }

    /// Asserts that generated latents and images match a case's reference: final latents within 1e-3, each image
    /// within 1/255 on 99.9 % of its bytes.
    public static func assertMatches(latents: Tensor, images: [RGBImage], _ testCase: Case, _ reference: SafeTensorsFile,
                                     _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expectedLatents = try reference.tensor("\(testCase.name).latents")
        XCTAssertEqual(latents.shape, expectedLatents.shape, "\(label) latent shape", file: file, line: line)
        assertClose(latents.scalars, expectedLatents.scalars, tolerance: 1e-3, "\(label) final latents", file: file, line: line)
        let bytes = try reference.integers("\(testCase.name).image").map { UInt8($0) }
        XCTAssertEqual(images.count, testCase.numImages, "\(label) image count", file: file, line: line)
        let size = testCase.width * testCase.height * 3
        for (index, image) in images.enumerated() where (index + 1) * size <= bytes.count {
            assertImagesMatch(image, Array(bytes[index * size ..< (index + 1) * size]), width: testCase.width,
                              height: testCase.height, "\(label) image \(index)", file: file, line: line)
        }
    }
}
