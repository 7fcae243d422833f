import DiffusionPatch
import StableDiffusion

/// A column of the ``UNetBenchmark`` table.
public enum UNetBenchmarkColumn: String, CaseIterable, Sendable {
    /// Standard attention, unpatched.
    case vanilla
    /// Standard attention, patched with Token Merging.
    case tome
    /// Memory-efficient attention (tiled, online softmax: in place of xFormers in tomesd's table), patched.
    case tomeMemoryEfficient = "tome-memory-efficient"
    /// Memory-efficient attention, unpatched: not in tomesd's table, the baseline of ToMe + memory-efficient.
    case memoryEfficient = "memory-efficient"

    /// The columns of tomesd's benchmark table: Vanilla, ToMe, ToMe + xFormers (here memory-efficient attention).
    public static let tomesdTable: [UNetBenchmarkColumn] = [.vanilla, .tome, .tomeMemoryEfficient]

    /// The attention implementation of the column.
    public var attention: AttentionImplementation {
        self == .vanilla || self == .tome ? .standard : .memoryEfficient
    }
    /// Whether the column runs patched.
    public var isPatched: Bool { self == .tome || self == .tomeMemoryEfficient }
}
