import ImageFiles
import TensorCore

extension RGBImage {
    /// The image as the VAE encoder takes it: `[1, height, width, 3]` (NHWC) with each byte b mapped to
    /// `2 · (b / 255) − 1` in `Float`, as diffusers' `VaeImageProcessor.preprocess` does (`/ 255.0` in NumPy float32,
    /// then `2.0 * x - 1.0`).
    static func encoderInput(_ image: RGBImage) -> Tensor {
        var tensor = Tensor(uninitialized: [1, image.height, image.width, 3])
        tensor.withUnsafeMutableBufferPointer { values in
            for (index, byte) in image.pixels.enumerated() {
                values[index] = 2 * (Float(byte) / 255) - 1
            }
        }
        return tensor
    }
}
