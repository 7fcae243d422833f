import Foundation
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

    /// Opens the regular file at `path` (never waiting: see ``RegularFile``).
    /// - Throws: ``SafeTensorsError/io(path:reason:)`` when it is missing, unreadable, a directory or not a regular file.
    init(path: String) throws {
        self.path = path
        do {
            (descriptor, size) = try RegularFile.openForReading(path)
        } catch let error as FileReadError {
            throw SafeTensorsError.io(path: path, reason: error.reason)
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

    /// Asks the system to start reading `range` into the page cache, from a background thread, when the range
    /// takes at most half of the free memory: a later read of it then waits less, and while one part is converted
    /// the next is already on its way from disk. Does nothing where the system has no such advice.
    func prefetch(_ range: Range<Int>) {
        #if os(Linux)
        let available = sysconf(Int32(_SC_AVPHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE))
        guard range.count > 0, range.count <= available / 2 else { return }
        // Linux reads at most one readahead window (the device's read_ahead_kb or max_sectors_kb, often 512 KiB or
        // more) per advice, so the range is advised a window at a time; each call can block while the device's
        // queue is full, hence the thread, which also keeps the file open until it is done.
        let window = 512 << 10
        Thread { [self] in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: window) {
                let count = min(window, range.upperBound - start)
                _ = posix_fadvise(descriptor, off_t(start), off_t(count), Int32(POSIX_FADV_WILLNEED))
            }
        }.start()
        #endif
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
