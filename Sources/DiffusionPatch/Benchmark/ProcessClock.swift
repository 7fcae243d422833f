#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time the whole process (every thread) has used: on a machine shared with other work, a step's CPU time
/// divided by the thread count estimates its wall time on an idle machine better than the wall time itself.
enum ProcessClock {
    /// Seconds of CPU time used so far.
    static func cpuSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
