import Foundation
import ImageFiles
@testable import StableDiffusion
import TensorCore
import TestSupport
import XCTest

/// The VAE decoder output turned into 8-bit images exactly as diffusers' `VaeImageProcessor.postprocess` does.
final class DecoderOutputImageTests: XCTestCase {
    private struct Postprocess: Decodable { let shape: [Int]; let input: [Float]; let pixels: [[UInt8]] }

    // MARK: diffusers' conversion

    func testDecoderOutputMatchesDiffusersPostprocess() throws {
        let fixture = try Fixtures.json(Postprocess.self, "image/postprocess.json")
        let nchw = try Tensor(shape: fixture.shape, scalars: fixture.input)
        let images = try RGBImage.images(fromDecoderOutput: nchw, layout: .nchw)
        XCTAssertEqual(images.count, fixture.pixels.count)
        for (image, expected) in zip(images, fixture.pixels) {
            XCTAssertEqual(image.width, fixture.shape[3])
            XCTAssertEqual(image.height, fixture.shape[2])
            XCTAssertEqual(image.pixels, expected)
        }
        // The same values in NHWC give the same images.
        let (b, c, h, w) = (fixture.shape[0], fixture.shape[1], fixture.shape[2], fixture.shape[3])
        var nhwcValues = [Float](repeating: 0, count: fixture.input.count)
        for n in 0..<b { for ch in 0..<c { for y in 0..<h { for x in 0..<w {
            nhwcValues[((n * h + y) * w + x) * c + ch] = fixture.input[((n * c + ch) * h + y) * w + x]
        } } } }
        let nhwc = try Tensor(shape: [b, h, w, c], scalars: nhwcValues)
        XCTAssertEqual(try RGBImage.images(fromDecoderOutput: nhwc, layout: .nhwc), images)
    }

    func testQuantizeEdgeCases() {
        XCTAssertEqual(RGBImage.quantize(.nan), 0)
        XCTAssertEqual(RGBImage.quantize(-.infinity), 0)
        XCTAssertEqual(RGBImage.quantize(.infinity), 255)
        XCTAssertEqual(RGBImage.quantize(0), 128)  // 127.5 rounds half to even
    }

    func testDecoderOutputShapeErrors() throws {
        for shape in [[3, 4, 4], [1, 4, 4, 4], [1, 3, 0, 4]] {
            let tensor = Tensor(zeros: shape)
            XCTAssertThrowsError(try RGBImage.images(fromDecoderOutput: tensor, layout: .nchw), "\(shape)") { error in
                guard case ImageError.invalidDimensions = error else { return XCTFail("\(error)") }
            }
        }
    }

}
