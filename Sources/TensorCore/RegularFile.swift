import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading files a user names: only regular files, and never waiting.
///
/// Every loader reads user files through here. A FIFO would make `open` wait for a writer forever, a device such
/// as `/dev/zero` would never end, and a folder is not a file: each is refused at once with an error naming the
/// path. The path is examined before it is opened (opening a device can have side effects), then opened without
/// blocking and examined again through the open descriptor, so a file swapped in between is caught too.
public enum RegularFile {
    /// The largest file ``contents(atPath:limit:)`` reads unless told otherwise: 256 MiB, far above any
    /// configuration, tokenizer or image file this package reads.
    public static let defaultSizeLimit = 256 << 20

    /// The whole contents of the regular file at `path`.
    /// - Parameter limit: the largest size accepted, in bytes; a larger file is refused before it is read.
    /// - Throws: ``FileReadError`` naming `path`: missing, unreadable, not a regular file, or larger than `limit`.
    public static func contents(atPath path: String, limit: Int = defaultSizeLimit) throws -> Data {
        let (descriptor, size) = try openForReading(path)
        defer { close(descriptor) }
        guard size <= limit else {
            throw FileReadError(path: path, reason: "is \(size) bytes, more than the \(limit) bytes accepted")
        }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { buffer in
            while done < size {
                let got = read(descriptor, buffer.baseAddress! + done, size - done)
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw FileReadError(path: path, reason: "cannot read: \(lastError())") }
                guard got > 0 else { break }
                done += got
            }
        }
        return data.prefix(done)
    }

    /// Opens the regular file at `path` read-only (the caller closes the descriptor) and returns its size.
    /// - Throws: ``FileReadError`` naming `path` when it is missing, unreadable or not a regular file.
    static func openForReading(_ path: String) throws -> (descriptor: Int32, size: Int) {
        var info = stat()
        if stat(path, &info) == 0 { try requireRegular(info, path) }
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileReadError(path: path, reason: "cannot open: \(lastError())") }
        guard fstat(descriptor, &info) == 0 else {
            let reason = lastError()
            close(descriptor)
            throw FileReadError(path: path, reason: "cannot stat: \(reason)")
        }
        do {
            try requireRegular(info, path)
        } catch {
            close(descriptor)
            throw error
        }
        return (descriptor, Int(info.st_size))
    }

    private static func requireRegular(_ info: stat, _ path: String) throws {
        switch FileKind(mode: info.st_mode) {
        case .regular: return
        case .directory: throw FileReadError(path: path, reason: "is a directory, not a file")
        case let kind: throw FileReadError(path: path, reason: "is \(kind.described), not a regular file")
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}
