/// Errors loading a tokenizer or decoding prompt bytes. Each message names the file or source and the problem.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    /// The tokenizer folder lacks the files a CLIP tokenizer needs.
    case missingFiles(folder: String, reason: String)
    /// A file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// A file (or in-memory source) is not what a CLIP BPE tokenizer needs.
    case malformed(source: String, reason: String)
    /// Prompt bytes are not valid UTF-8.
    case invalidUTF8(source: String, byteOffset: Int)

    /// A human-readable description naming the source and the problem.
    public var description: String {
        switch self {
        case .missingFiles(let folder, let reason): return "tokenizer folder \(folder): \(reason)"
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .malformed(let source, let reason): return "\(source): \(reason)"
        case .invalidUTF8(let source, let offset): return "\(source) is not valid UTF-8 (first bad byte at offset \(offset))"
        }
    }
}
