/// Errors reading or building images (writing fails with ``OutputFileError``). Each message names the file (or
/// data source) and the problem.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    /// Width, height, pixel count or tensor shape do not describe a valid image.
    case invalidDimensions(String)
    /// The bytes do not start with the PNG signature.
    case notPNG(source: String)
    /// The PNG structure or its compressed data is damaged.
    case corruptPNG(source: String, reason: String)
    /// A valid PNG this reader does not handle (it reads what ``RGBImage/pngData()`` writes: 8-bit RGB).
    case unsupportedPNG(source: String, reason: String)
    /// The file could not be read.
    case unreadable(path: String, reason: String)

    /// A human-readable description naming the source and the problem.
    public var description: String {
        switch self {
        case .invalidDimensions(let message): return "invalid image: \(message)"
        case .notPNG(let source): return "\(source): not a PNG file (bad signature)"
        case .corruptPNG(let source, let reason): return "\(source): corrupt PNG: \(reason)"
        case .unsupportedPNG(let source, let reason): return "\(source): unsupported PNG: \(reason)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        }
    }
}
