import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes whole files atomically: the bytes go to a new temporary file in the destination's folder, which is then
/// renamed over the destination. Readers see the old file or the complete new one, never a partial file, and a
/// failure leaves no temporary file behind.
public enum AtomicFile {
    /// Writes `bytes` to `url`.
    /// - Throws: ``ImageError/unwritable(path:reason:)`` naming `url`'s path and the system's reason.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let path = url.path
        let folder = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) == false || !isDirectory.boolValue else {
            throw ImageError.unwritable(path: path, reason: "it is a directory")
        }
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-" + UUID().uuidString
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw ImageError.unwritable(path: path, reason: systemError()) }
        var written = 0
        var failure: String?
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            while written < buffer.count {
                let result = systemWrite(descriptor, base + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    failure = systemError()
                    return
                }
                written += result
            }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = systemError() }
        if close(descriptor) != 0, failure == nil { failure = systemError() }
        if failure == nil, rename(temporary, path) != 0 { failure = systemError() }
        if let failure {
            unlink(temporary)
            throw ImageError.unwritable(path: path, reason: failure)
        }
    }

    /// POSIX `write(2)` (the name `write` is taken by this type's method).
    private static func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(descriptor, bytes, count)
        #elseif canImport(Musl)
        return Musl.write(descriptor, bytes, count)
        #else
        return Darwin.write(descriptor, bytes, count)
        #endif
    }

    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}
