/// A problem with a model configuration (diffusers' `config.json`): every case names the file and the key.
public enum ConfigError: Error, Equatable, CustomStringConvertible {
    /// The file cannot be read or is not a JSON object of the expected shape.
    case unreadable(path: String, reason: String)
    /// A key this implementation does not know.
    case unknownKey(path: String, key: String)
    /// A known key whose value this implementation does not support (e.g. another block type).
    case unsupported(path: String, key: String, value: String, supported: String)
    /// A value that is inconsistent or out of range.
    case invalid(path: String, key: String, reason: String)

    /// A human-readable description naming the file, the key and the problem.
    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read the configuration: \(reason)"
        case let .unknownKey(path, key):
            return "\(path): unknown configuration key '\(key)'"
        case let .unsupported(path, key, value, supported):
            return "\(path): '\(key)' = \(value) is not supported (supported: \(supported))"
        case let .invalid(path, key, reason):
            return "\(path): invalid '\(key)': \(reason)"
        }
    }
}
