import DiffusionPatch

/// One measured (or out-of-memory) cell of the ``UNetBenchmark`` table.
public struct UNetBenchmarkCell: Sendable {
    /// The column.
    public let column: UNetBenchmarkColumn
    /// FLOPs of one step (``UNetFLOPModel``).
    public let flops: Double
    /// The peak memory predicted before running, when a smaller cell of the column was measured.
    public let predictedPeakBytes: Int?
    /// Resident memory before the cell ran (the weights and the process).
    public let baselineBytes: Int
    /// Seconds of every timed step; nil when the cell is out of memory.
    public internal(set) var stepSeconds: [Double]?
    /// CPU seconds (all threads) of every timed step; nil when the cell is out of memory.
    public internal(set) var cpuSeconds: [Double]?
    /// Peak resident memory while the cell ran; nil when it did not run.
    public internal(set) var peakBytes: Int?
    /// The patch's planning, merging and unmerging time per step (ToMe columns), or resizing time (ToDo columns).
    public internal(set) var overheadSeconds: Double?
    /// Tokens the patch merged per step (ToMe columns).
    public internal(set) var tokensMergedPerStep: Int?

    init(column: UNetBenchmarkColumn, flops: Double, predictedPeakBytes: Int?, baselineBytes: Int) {
        self.column = column
        self.flops = flops
        self.predictedPeakBytes = predictedPeakBytes
        self.baselineBytes = baselineBytes
    }

    /// Whether the cell exceeded (or was predicted to exceed) the memory budget.
    public var isOutOfMemory: Bool { stepSeconds == nil }

    /// The median step time.
    public var medianSeconds: Double? { stepSeconds.flatMap(median) }

    /// The median CPU time of a step.
    public var medianCPUSeconds: Double? { cpuSeconds.flatMap(median) }

    private func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The median step time by `clock` (CPU time divided by `threads`).
    public func seconds(_ clock: UNetBenchmarkClock, threads: Int) -> Double? {
        switch clock {
        case .wall: return medianSeconds
        case .cpu: return medianCPUSeconds.map { $0 / Double(threads) }
        }
    }

    /// The patch's overhead (wall time, measured inside the step) as a fraction of the median wall step time.
    public var overheadFraction: Double? {
        guard let overheadSeconds, let median = medianSeconds, median > 0 else { return nil }
        return overheadSeconds / median
    }
}
