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
    /// Standard attention, patched with Token Downsampling (ToDo).
    case todo
    /// Memory-efficient attention, patched with Token Downsampling.
    case todoMemoryEfficient = "todo-memory-efficient"

    /// The columns of tomesd's benchmark table: Vanilla, ToMe, ToMe + xFormers (here memory-efficient attention).
    public static let tomesdTable: [UNetBenchmarkColumn] = [.vanilla, .tome, .tomeMemoryEfficient]
    /// The same columns for Token Downsampling: Vanilla, ToDo, ToDo + memory-efficient attention.
    public static let todoTable: [UNetBenchmarkColumn] = [.vanilla, .todo, .todoMemoryEfficient]

    /// The attention implementation of the column.
    public var attention: AttentionImplementation {
        self == .vanilla || self == .tome || self == .todo ? .standard : .memoryEfficient
    }
    /// Whether the column runs patched with Token Merging.
    public var isPatched: Bool { self == .tome || self == .tomeMemoryEfficient }
    /// Whether the column runs patched with Token Downsampling.
    public var isDownsampled: Bool { self == .todo || self == .todoMemoryEfficient }
}
