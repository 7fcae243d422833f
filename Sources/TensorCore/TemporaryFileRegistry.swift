import CKernels
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The named temporary files of ``OutputFile`` that exist right now, kept where a signal handler can remove them.
///
/// Storage is fixed when the registry is first used; a signal handler only reads it (atomic flags, plain bytes)
/// and calls `unlinkat`, both safe inside a signal handler. Registering and unregistering take a lock, outside
/// handlers.
final class TemporaryFileRegistry: @unchecked Sendable {
    /// The one registry of the process.
    static let shared = TemporaryFileRegistry()

    /// Files registered at most at once; a file beyond that is simply not removed by a signal.
    static let capacity = 64
    /// Bytes per name, terminating zero included (a file name has at most 255 bytes).
    static let nameSize = 256

    private let lock = NSLock()
    /// 1 while slot `i` holds a file, else 0 (read atomically by ``removeAll()``).
    private let used = UnsafeMutablePointer<Int64>.allocate(capacity: capacity)
    private let folders = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    private let names = UnsafeMutablePointer<CChar>.allocate(capacity: capacity * nameSize)

    private init() {
        used.initialize(repeating: 0, count: Self.capacity)
        folders.initialize(repeating: -1, count: Self.capacity)
        names.initialize(repeating: 0, count: Self.capacity * Self.nameSize)
    }

    /// Records the file `name` in the folder open as `folder`; returns its slot, or nil when the registry is full
    /// or the name too long.
    func register(folder: Int32, name: String) -> Int? {
        let bytes = Array(name.utf8CString)
        guard bytes.count <= Self.nameSize else { return nil }
        lock.lock(); defer { lock.unlock() }
        guard let slot = (0..<Self.capacity).first(where: { ck_atomic_load(used + $0) == 0 }) else { return nil }
        folders[slot] = folder
        bytes.withUnsafeBufferPointer { (names + slot * Self.nameSize).update(from: $0.baseAddress!, count: bytes.count) }
        ck_atomic_store(used + slot, 1)
        return slot
    }

    /// Forgets `slot` (the file was renamed into place or removed).
    func unregister(_ slot: Int) {
        lock.lock(); defer { lock.unlock() }
        ck_atomic_store(used + slot, 0)
    }

    /// Removes every registered file. Async-signal-safe: no allocation, no lock.
    func removeAll() {
        for slot in 0..<Self.capacity where ck_atomic_load(used + slot) != 0 {
            unlinkat(folders[slot], names + slot * Self.nameSize, 0)
        }
    }
}
