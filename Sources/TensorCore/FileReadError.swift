/// A user file that cannot be read: missing, unreadable, not a regular file (a folder, FIFO, device or socket),
/// or too large. Loaders wrap it in their own error type, keeping `reason`.
public struct FileReadError: Error, Equatable, CustomStringConvertible {
    /// The file, as given.
    public let path: String
    /// What is wrong, in words ("is a FIFO (named pipe), not a regular file").
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
