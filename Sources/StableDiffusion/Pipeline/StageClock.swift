#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Measures a stage: started with ``init()``, read with ``elapsed``.
struct StageClock {
    private let wallStart = StageClock.now(CLOCK_MONOTONIC)
    private let cpuStart = StageClock.now(CLOCK_PROCESS_CPUTIME_ID)

    /// Wall and process CPU seconds since the clock started.
    var elapsed: StageTime {
        StageTime(wall: Self.now(CLOCK_MONOTONIC) - wallStart, cpu: Self.now(CLOCK_PROCESS_CPUTIME_ID) - cpuStart)
    }

    private static func now(_ clock: clockid_t) -> Double {
        var time = timespec()
        clock_gettime(clock, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
