import DiffusionPatch
import Foundation
import TensorCore

/// What a ``UNetBenchmark`` runs.
public struct UNetBenchmarkSettings: Sendable {
    /// Image sizes in pixels (square; the latent is a eighth of it), each a positive multiple of 8.
    public var resolutions = [512]
    /// Batch sizes.
    public var batches = [1, 2]
    /// The columns to measure (tomesd's three unless changed).
    public var columns = UNetBenchmarkColumn.tomesdTable
    /// The patch of the ToMe columns (tomesd's defaults with ratio 0.5).
    public var options = ToMeOptions.defaults
    /// The patch of the ToDo columns (the reference's defaults: factor 2, nearest-exact, maxDownsample 1).
    public var downsampling = ToDoOptions.defaults
    /// Timed steps per cell (the median is reported).
    public var steps = 3
    /// Untimed steps per cell first.
    public var warmup = 1
    /// Peak resident memory a cell may use; a cell above it reads "OOM".
    public var memoryBudgetBytes: Int
    /// The time the table reports.
    public var clock = UNetBenchmarkClock.wall
    /// Text tokens of the cross-attention context (CLIP's 77).
    public var contextTokens = 77
    /// The precision the model's linear and convolution weights are packed in.
    public var precision = Precision.fp32
    /// The UNet benchmarked (SD 1.5 unless changed).
    public var architecture = UNetBenchmarkArchitecture.sd15

    /// The defaults: 512² at batches 1 and 2, tomesd's columns, ratio 0.5, 3 steps after 1 warm-up, and a memory budget
    /// of three quarters of the physical memory.
    public init() {
        memoryBudgetBytes = Int(Double(ProcessInfo.processInfo.physicalMemory) * 0.75)
    }

    /// Checks every setting.
    /// - Throws: ``PatchError/invalidOption(option:reason:)`` naming the first bad one.
    public func validate() throws {
        func invalid(_ name: String, _ reason: String) -> PatchError { .invalidOption(option: name, reason: reason) }
        guard !resolutions.isEmpty, resolutions.allSatisfy({ $0 >= 8 && $0 % 8 == 0 && $0 <= 8192 }) else {
            throw invalid("resolutions", "\(resolutions) must be a non-empty list of multiples of 8 in 8...8192")
        }
        guard !batches.isEmpty, batches.allSatisfy({ $0 >= 1 && $0 <= 256 }) else {
            throw invalid("batches", "\(batches) must be a non-empty list of sizes in 1...256")
        }
        guard !columns.isEmpty else { throw invalid("columns", "at least one column is needed") }
        guard steps >= 1 else { throw invalid("steps", "\(steps) must be at least 1") }
        guard warmup >= 0 else { throw invalid("warmup", "\(warmup) must not be negative") }
        guard memoryBudgetBytes > 0 else { throw invalid("memoryBudget", "\(memoryBudgetBytes) bytes must be positive") }
        guard contextTokens >= 1 else { throw invalid("contextTokens", "\(contextTokens) must be at least 1") }
        try options.validate()
        try downsampling.validate()
    }
}

/// Which time the ``UNetBenchmark`` table reports and computes speed-ups from.
public enum UNetBenchmarkClock: String, CaseIterable, Sendable {
    /// Wall-clock seconds per step: the figure that matters, on a machine that runs nothing else.
    case wall
    /// The process's CPU seconds per step divided by the thread count: on a machine shared with other work (where
    /// wall time stretches with the load) the steadier estimate of the idle-machine wall time. The thread pool
    /// sleeps when idle, so its CPU time is work.
    case cpu
}
