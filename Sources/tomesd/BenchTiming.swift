import TensorCore

/// Wall-clock timings of a benchmark body: `warmup` untimed runs, then `repeats` timed ones.
struct BenchTiming {
    /// Every timed run, in milliseconds, in the order they ran.
    let milliseconds: [Double]

    init(warmup: Int = 2, repeats: Int, _ body: () -> Void) {
        for _ in 0..<warmup { body() }
        milliseconds = (0..<repeats).map { _ in
            let start = ProcessMetrics.now()
            body()
            return ProcessMetrics.seconds(since: start) * 1e3
        }
    }

    /// The median run (the mean of the middle two for an even count).
    var median: Double {
        let sorted = milliseconds.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The fastest run.
    var minimum: Double { milliseconds.min() ?? 0 }
}
