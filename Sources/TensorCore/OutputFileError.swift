/// Why an output file was refused or could not be written.
///
/// Every case but ``writeFailed(path:reason:)`` is found by ``OutputFile/prepare(path:inputs:otherOutputs:)``,
/// before any work is done: the `tomesd` CLI reports those as usage errors (exit status 2).
public enum OutputFileError: Error, Equatable, CustomStringConvertible {
    /// The path exists and is not a regular file (`kind`: "a directory", "a character device", "a FIFO (named
    /// pipe)", "a socket"...). Outputs only ever replace regular files.
    case notRegularFile(path: String, kind: String)
    /// The path is a symbolic link (to `target`). Outputs never replace or follow a link.
    case symbolicLink(path: String, target: String)
    /// The path is the same file as `input`, an input of the same run (compared by device and inode).
    case sameFileAsInput(path: String, input: String)
    /// The path is the same file as `other`, another output of the same run.
    case sameFileAsOtherOutput(path: String, other: String)
    /// Nothing can be created there (missing or read-only folder, path too long...).
    case cannotCreate(path: String, reason: String)
    /// Writing, flushing or renaming into place failed; the previous file, if any, is left as it was.
    case writeFailed(path: String, reason: String)

    /// Whether the output was refused before any work (every case but ``writeFailed(path:reason:)``).
    public var isRefusal: Bool {
        if case .writeFailed = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case let .notRegularFile(path, kind):
            return "refusing to write \(path): it is \(kind), not a regular file (an output only replaces a regular file)"
        case let .symbolicLink(path, target):
            return "refusing to write \(path): it is a symbolic link (to \(target)); an output never replaces a link, "
                + "give the path of the file itself"
        case let .sameFileAsInput(path, input):
            return "refusing to write \(path): it is the same file as the input \(input)"
        case let .sameFileAsOtherOutput(path, other):
            return "refusing to write \(path): it is the same file as the other output \(other)"
        case let .cannotCreate(path, reason), let .writeFailed(path, reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
