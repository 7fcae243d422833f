import DiffusionPatch
import Foundation
import TensorCore

extension UNetBenchmark {
    /// The settings as the table's heading: model, threads, patch, steps, budget and how to read the cells.
    public var heading: String {
        let (o, d) = (settings.options, settings.downsampling)
        let gib = { (bytes: Int) in String(format: "%.1f GiB", Double(bytes) / 1_073_741_824) }
        return """
            \(settings.architecture.title)-shaped UNet \(config.blockOutChannels) (seeded random weights), \(settings.precision.rawValue), \(ThreadPool.shared.threadCount) thread(s); \
            ToMe ratio \(o.ratio), maxDownsample \(o.maxDownsample), sx \(o.sx), sy \(o.sy), \
            \(o.useRandom ? "random" : "no-random"); ToDo factor \(d.factor), \(d.method.rawValue), \
            maxDownsample \(d.maxDownsample); median of \(settings.steps) step(s) after \(settings.warmup) \
            warm-up; memory budget \(gib(settings.memoryBudgetBytes)).
            Cells: seconds per UNet step (\(settings.clock == .wall ? "wall clock" : "CPU time ÷ threads")) · \
            speed-up over Vanilla (FLOP-model prediction) · peak resident memory (weights included) · ToMe's own \
            time (matching + merge + unmerge; ToDo: resizing) as a share of the step.
            """
    }

    /// The table header, as Markdown.
    public var tableHeader: String {
        let (ratio, factor) = (settings.options.ratio, settings.downsampling.factor)
        let titles = settings.columns.map { column -> String in
            switch column {
            case .vanilla: return "Vanilla"
            case .tome: return "ToMe \(ratio)"
            case .tomeMemoryEfficient: return "ToMe \(ratio) + memory-efficient attention"
            case .memoryEfficient: return "Memory-efficient attention"
            case .todo: return "ToDo ×\(factor)"
            case .todoMemoryEfficient: return "ToDo ×\(factor) + memory-efficient attention"
            }
        }
        return "| Resolution | Batch | " + titles.joined(separator: " | ") + " |\n|---|---|"
            + String(repeating: "---|", count: titles.count)
    }

    /// One row of the table, as Markdown.
    public func tableLine(_ row: UNetBenchmarkRow) -> String {
        let (clock, threads) = (settings.clock, ThreadPool.shared.threadCount)
        let gib = { (bytes: Int) in String(format: "%.1f GiB", Double(bytes) / 1_073_741_824) }
        let cells = row.cells.map { cell -> String in
            guard let median = cell.seconds(clock, threads: threads), let peak = cell.peakBytes else {
                let needed = cell.peakBytes.map { " (used \(gib($0)))" } ?? cell.predictedPeakBytes.map { " (needs ~\(gib($0)))" }
                return "OOM" + (needed ?? "")
            }
            var text = String(format: "%.2f s", median)
            if cell.column != .vanilla, let speedUp = row.speedUp(cell.column, clock: clock) {
                text += String(format: " · ×%.2f", speedUp)
                if let predicted = row.predictedSpeedUp(cell.column) { text += String(format: " (×%.2f)", predicted) }
            }
            text += " · " + gib(peak)
            if let overhead = cell.overheadFraction { text += String(format: " · %.1f %%", 100 * overhead) }
            return text
        }
        return "| \(row.resolution)² | \(row.batch) | " + cells.joined(separator: " | ") + " |"
    }

    /// The rows as a JSON document (settings and every cell, times in seconds, memory in bytes).
    public func json(_ rows: [UNetBenchmarkRow]) throws -> String {
        let o = settings.options
        let document: [String: Any] = [
            "threads": ThreadPool.shared.threadCount, "precision": settings.precision.rawValue, "steps": settings.steps, "clock": settings.clock.rawValue, "warmup": settings.warmup,
            "memory_budget_bytes": settings.memoryBudgetBytes, "block_out_channels": config.blockOutChannels,
            "options": ["ratio": o.ratio, "max_downsample": o.maxDownsample, "sx": o.sx, "sy": o.sy,
                        "use_random": o.useRandom, "seed": o.seed, "merge_attention": o.mergeAttention,
                        "merge_cross_attention": o.mergeCrossAttention, "merge_mlp": o.mergeMLP],
            "todo_options": ["downsample_factor": settings.downsampling.factor,
                             "downsample_method": settings.downsampling.method.rawValue,
                             "max_downsample": settings.downsampling.maxDownsample],
            "rows": rows.map { row -> [String: Any] in
                ["resolution": row.resolution, "batch": row.batch, "cells": row.cells.map { cell -> [String: Any] in
                    var entry: [String: Any] = ["column": cell.column.rawValue, "flops": cell.flops,
                                                "oom": cell.isOutOfMemory]
                    entry["step_seconds"] = cell.stepSeconds
                    entry["median_seconds"] = cell.medianSeconds
                    entry["cpu_seconds"] = cell.cpuSeconds
                    entry["median_cpu_seconds"] = cell.medianCPUSeconds
                    entry["peak_bytes"] = cell.peakBytes
                    entry["predicted_peak_bytes"] = cell.predictedPeakBytes
                    entry["overhead_seconds"] = cell.overheadSeconds
                    entry["tokens_merged_per_step"] = cell.tokensMergedPerStep
                    entry["speed_up"] = row.speedUp(cell.column, clock: settings.clock)
                    entry["flop_speed_up"] = row.predictedSpeedUp(cell.column)
                    return entry
                }]
            },
        ]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
