/// An 8-bit RGB image: `height` rows of `width` pixels, 3 bytes (R, G, B) per pixel, top row first.
public struct RGBImage: Equatable, Sendable {
    /// Pixels per row.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `width * height * 3` bytes, row-major, RGB interleaved.
    public let pixels: [UInt8]

    /// Wraps pixel bytes.
    /// - Throws: ``ImageError/invalidDimensions(_:)`` when a side is not in 1...2³¹-1 (PNG's range) or the byte count is not
    ///   `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0, width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError.invalidDimensions("size \(width)x\(height): each side must be in 1...\(Int32.max)")
        }
        let (count, overflow) = width.multipliedReportingOverflow(by: height * 3)
        guard !overflow, pixels.count == count else {
            throw ImageError.invalidDimensions("\(pixels.count) bytes for \(width)x\(height) RGB (needs width*height*3)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The (R, G, B) bytes of the pixel in column `x`, row `y` (both zero-based; bounds are the caller's).
    public func pixel(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let offset = (y * width + x) * 3
        return (pixels[offset], pixels[offset + 1], pixels[offset + 2])
    }
}
