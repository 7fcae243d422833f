import DiffusionPatch

/// One resolution × batch row of the ``UNetBenchmark`` table.
public struct UNetBenchmarkRow: Sendable {
    /// Image size in pixels (square).
    public let resolution: Int
    /// Batch size.
    public let batch: Int
    /// One cell per column, in the settings' column order.
    public let cells: [UNetBenchmarkCell]

    /// The cell of `column`, if measured.
    public func cell(_ column: UNetBenchmarkColumn) -> UNetBenchmarkCell? {
        cells.first { $0.column == column }
    }

    /// Vanilla's median step time over `column`'s by `clock` (nil without both).
    public func speedUp(_ column: UNetBenchmarkColumn, clock: UNetBenchmarkClock = .wall) -> Double? {
        guard let vanilla = cell(.vanilla)?.seconds(clock, threads: 1),
              let time = cell(column)?.seconds(clock, threads: 1) else { return nil }
        return vanilla / time
    }

    /// The FLOP model's speed-up of `column` over Vanilla (nil without a Vanilla cell).
    public func predictedSpeedUp(_ column: UNetBenchmarkColumn) -> Double? {
        guard let vanilla = cell(.vanilla)?.flops, let flops = cell(column)?.flops else { return nil }
        return vanilla / flops
    }
}
