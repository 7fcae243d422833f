/// A problem with a safetensors file: every case names the file, and the tensor where one is involved.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, mapped or written.
    case io(path: String, reason: String)
    /// The 8-byte length prefix or the JSON header is malformed.
    case malformedHeader(path: String, reason: String)
    /// A tensor's entry in the header is invalid (dtype, shape, offsets, byte count).
    case invalidTensor(path: String, tensor: String, reason: String)
    /// The file has no tensor of that name.
    case tensorNotFound(path: String, tensor: String)
    /// The tensor exists but its element type cannot be read as asked (e.g. integers as floats).
    case unsupportedDType(path: String, tensor: String, dtype: String, wanted: String)

    /// A human-readable description naming the file, the tensor and the problem.
    public var description: String {
        switch self {
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .malformedHeader(path, reason):
            return "\(path): malformed safetensors header: \(reason)"
        case let .invalidTensor(path, tensor, reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case let .tensorNotFound(path, tensor):
            return "\(path): no tensor named '\(tensor)'"
        case let .unsupportedDType(path, tensor, dtype, wanted):
            return "\(path): tensor '\(tensor)' has dtype \(dtype), which cannot be read as \(wanted)"
        }
    }
}
