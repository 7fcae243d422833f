import DiffusionPatch

/// Which time the ``UNetBenchmark`` table reports and computes speed-ups from.
public enum UNetBenchmarkClock: String, CaseIterable, Sendable {
    /// Wall-clock seconds per step: the figure that matters, on a machine that runs nothing else.
    case wall
    /// The process's CPU seconds per step divided by the thread count: on a machine shared with other work (where
    /// wall time stretches with the load) the steadier estimate of the idle-machine wall time. The thread pool
    /// sleeps when idle, so its CPU time is work.
    case cpu
}
