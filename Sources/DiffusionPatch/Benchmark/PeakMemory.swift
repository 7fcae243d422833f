import Foundation

/// The process's resident memory and its high-water mark, resettable on Linux (`/proc/self/clear_refs`, then
/// `VmHWM`), so each benchmark cell reports its own peak. Elsewhere the peak is the process's lifetime maximum
/// (`getrusage`), which only grows.
enum PeakMemory {
    /// Whether ``reset()`` works here.
    static let isResettable: Bool = {
        #if os(Linux)
        return FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs")
        #else
        return false
        #endif
    }()

    /// Starts a new high-water mark at the current resident size (where ``isResettable``).
    static func reset() {
        guard isResettable else { return }
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }

    /// The peak resident bytes since the last ``reset()``.
    static func peakBytes() -> Int {
        if let peak = status("VmHWM") { return peak }
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }

    /// The current resident bytes (0 where unknown).
    static func residentBytes() -> Int { status("VmRSS") ?? 0 }

    /// A `/proc/self/status` size field, in bytes.
    private static func status(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
}
