#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file open for positioned reads (`pread`), closed when the last reference goes away.
///
/// Reads copy straight from the page cache into the caller's memory — one copy, no mapping to fault in — and a
/// file that shrinks while open makes a read throw instead of faulting, as a memory mapping would.
final class ReadOnlyFile: @unchecked Sendable {
    /// The path, used in every error message.
    let path: String
    /// The size in bytes when the file was opened.
    let size: Int
    private let descriptor: Int32

    /// Opens the regular file at `path`.
    /// - Throws: ``SafeTensorsError/io(path:reason:)`` when it is missing, unreadable, a directory or not a regular file.
    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw SafeTensorsError.io(path: path, reason: "cannot open: \(Self.lastError())") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = Self.lastError()
            close(descriptor)
            throw SafeTensorsError.io(path: path, reason: "cannot stat: \(reason)")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            size = Int(info.st_size)
        case S_IFDIR:
            close(descriptor)
            throw SafeTensorsError.io(path: path, reason: "is a directory, not a file")
        default:
            close(descriptor)
            throw SafeTensorsError.io(path: path, reason: "is not a regular file")
        }
    }

    deinit { close(descriptor) }

    /// Reads exactly `count` bytes at `offset` into `buffer`.
    /// - Throws: ``SafeTensorsError/io(path:reason:)`` when the read fails or the file ends first.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        var done = 0
        while done < count {
            let got = pread(descriptor, buffer + done, count - done, off_t(offset + done))
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw SafeTensorsError.io(path: path, reason: "cannot read at byte \(offset + done): \(Self.lastError())") }
            guard got > 0 else {
                throw SafeTensorsError.io(path: path, reason: "cannot read bytes \(offset)..<\(offset + count): the file ends first (changed while open?)")
            }
            done += got
        }
    }

    /// `count` bytes read at `offset`.
    /// - Throws: ``SafeTensorsError/io(path:reason:)`` when the read fails or the file ends first.
    func bytes(count: Int, at offset: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { try read(into: buffer.baseAddress!, count: count, at: offset) }
            initialized = count
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
