import Foundation
import TensorCore

/// A configuration read from a diffusers or transformers `config.json`.
public protocol ConfigFile {
    /// Decodes and validates a configuration from JSON `data`; `path` names it in errors.
    /// - Throws: ``ConfigError`` naming the file and the key.
    static func decode(_ data: Data, path: String) throws -> Self
}

extension ConfigFile {
    /// Reads and validates the configuration file at `url`.
    /// - Throws: ``ConfigError`` naming the file (and the key) for anything unreadable, unknown or unsupported.
    public static func load(from url: URL) throws -> Self {
        let data: Data
        do {
            data = try RegularFile.contents(atPath: url.path)
        } catch let error as FileReadError {
            throw ConfigError.unreadable(path: url.path, reason: error.reason)
        }
        return try decode(data, path: url.path)
    }
}
