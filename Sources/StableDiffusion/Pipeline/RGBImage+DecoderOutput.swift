import ImageFiles
import TensorCore

/// Where the channel axis sits in a batch of image tensors.
public enum ImageTensorLayout: Sendable {
    /// `[B, C, H, W]`, diffusers' layout.
    case nchw
    /// `[B, H, W, C]`, this package's activation layout.
    case nhwc
}

extension RGBImage {
    /// Converts a VAE decoder output batch (values nominally in [-1, 1], 3 channels) to 8-bit images exactly as
    /// diffusers' `VaeImageProcessor.postprocess(output_type="pil")` does, in `Float`:
    /// `v = clamp(x * 0.5 + 0.5, 0, 1)`, then `round(v * 255)` with ties to even (NumPy's `round`). A NaN becomes 0.
    /// - Throws: ``ImageError/invalidDimensions(_:)`` unless the tensor is rank 4 with 3 channels and a non-empty
    ///   image size.
    public static func images(fromDecoderOutput tensor: Tensor, layout: ImageTensorLayout) throws -> [RGBImage] {
        guard tensor.rank == 4 else {
            throw ImageError.invalidDimensions("decoder output must be rank 4, got shape \(tensor.shape)")
        }
        let (batch, channels, height, width) = layout == .nchw
            ? (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
            : (tensor.shape[0], tensor.shape[3], tensor.shape[1], tensor.shape[2])
        guard channels == 3 else {
            throw ImageError.invalidDimensions("decoder output must have 3 channels (\(layout)), got shape \(tensor.shape)")
        }
        guard height > 0, width > 0 else { throw ImageError.invalidDimensions("decoder output shape \(tensor.shape) is empty") }
        let plane = height * width
        return try tensor.withUnsafeBufferPointer { values in
            try (0..<batch).map { image in
                var pixels = [UInt8](repeating: 0, count: plane * 3)
                for pixel in 0..<plane {
                    for channel in 0..<3 {
                        let index = layout == .nchw
                            ? (image * 3 + channel) * plane + pixel
                            : (image * plane + pixel) * 3 + channel
                        pixels[pixel * 3 + channel] = quantize(values[index])
                    }
                }
                return try RGBImage(width: width, height: height, pixels: pixels)
            }
        }
    }

    /// One value of [-1, 1] to a byte, as diffusers' denormalize + `numpy_to_pil`.
    static func quantize(_ value: Float) -> UInt8 {
        guard !value.isNaN else { return 0 }
        let unit = min(max(value * 0.5 + 0.5, 0), 1)
        return UInt8((unit * 255).rounded(.toNearestOrEven))
    }
}
