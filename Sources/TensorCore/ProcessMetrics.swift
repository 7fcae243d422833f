import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the process has used so far: wall-clock time, CPU time of every thread, resident memory and its peak. The
/// one place the pipeline, the benchmarks and the CLI read these figures from.
///
/// The peak resident memory can be restarted on Linux (`/proc/self/clear_refs`, then `VmHWM` in
/// `/proc/self/status`), so each measured piece of work reports its own peak. Elsewhere only the process's lifetime
/// peak (`getrusage`) is known, which only grows.
package enum ProcessMetrics {
    /// A monotonic clock reading in nanoseconds, for ``seconds(since:)``.
    package static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Seconds elapsed since `start`, a reading of ``now()``.
    package static func seconds(since start: UInt64) -> Double {
        Double(now() - start) / 1e9
    }

    /// Seconds of CPU time the whole process (every thread) has used so far. On a machine shared with other work,
    /// a step's CPU time divided by the thread count estimates its idle-machine wall time better than the wall time.
    package static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Whether ``resetPeak()`` can work here (Linux with a writable `/proc/self/clear_refs`).
    package static let isPeakResettable: Bool = {
        #if os(Linux)
        return FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs")
        #else
        return false
        #endif
    }()

    /// Starts a new peak at the current resident size. Returns false where that is not possible.
    @discardableResult
    package static func resetPeak() -> Bool {
        guard isPeakResettable else { return false }
        return (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
    }

    /// Peak resident bytes since the last ``resetPeak()`` (`VmHWM`); nil where unknown.
    package static func resettablePeakBytes() -> Int? { statusBytes("VmHWM") }

    /// Peak resident bytes since the last ``resetPeak()`` where known, else the process's lifetime peak.
    package static func peakBytes() -> Int { resettablePeakBytes() ?? lifetimePeakBytes() }

    /// The process's lifetime peak resident bytes (`getrusage`; never reset).
    package static func lifetimePeakBytes() -> Int {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        #if canImport(Darwin)
        return Int(usage.ru_maxrss)  // bytes on macOS
        #else
        return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
        #endif
    }

    /// The current resident bytes (`VmRSS`); nil where unknown.
    package static func residentBytes() -> Int? { statusBytes("VmRSS") }

    /// A size field of `/proc/self/status` (given there in kB), in bytes.
    private static func statusBytes(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
        }
        return nil
    }
}
