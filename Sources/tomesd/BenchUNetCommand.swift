import DiffusionPatch
import Foundation
import TensorCore
import UNetBenchmarking

/// `tomesd bench unet`: tomesd's benchmark table for an SD 1.5-sized UNet with seeded random weights (``UNetBenchmark``),
/// row by row as Markdown, or as JSON (what `Benchmarks/python/unet_tome_vs_diffusers.py` reads). `--cpu-time` reports
/// CPU time ÷ threads instead of wall time, for machines shared with other work. `--method todo` measures Token
/// Downsampling's columns instead of Token Merging's.
let benchUNetCommand = Subcommand(
    name: "bench unet",
    usage: "bench unet [--resolutions 512,768,1024] [--batch 1,2,4] [--ratio 0.5] [--max-downsample N] "
        + "[--steps N] [--warmup N] [--columns vanilla,tome,tome-memory-efficient,memory-efficient] [--memory-budget GiB] [--cpu-time] [--json]"
        + " [--method tome|todo] [--downsample-factor F] [--downsample-method M] [--columns ...,todo,todo-memory-efficient]",
    flags: ["json", "cpu-time"]
) { arguments in
    var settings = UNetBenchmarkSettings()
    settings.resolutions = try arguments.ints("resolutions") ?? settings.resolutions
    settings.batches = try arguments.ints("batch") ?? settings.batches
    settings.options.ratio = try arguments.double("ratio") ?? settings.options.ratio
    settings.options.maxDownsample = try arguments.int("max-downsample") ?? settings.options.maxDownsample
    // ToDo: `--method todo` makes its columns the default; its options apply to the ToDo columns.
    let method = arguments.string("method") ?? "tome"
    guard method == "tome" || method == "todo" else { throw UsageError("option --method expects tome or todo, got '\(method)'") }
    if method == "todo" { settings.columns = UNetBenchmarkColumn.todoTable }
    settings.downsampling.maxDownsample = settings.options.maxDownsample
    settings.downsampling.factor = try arguments.int("downsample-factor") ?? settings.downsampling.factor
    if let name = arguments.string("downsample-method") {
        guard let resize = ResizeMethod(rawValue: name) else {
            throw UsageError("option --downsample-method expects one of "
                + ResizeMethod.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(name)'")
        }
        settings.downsampling.method = resize
    }
    settings.steps = try arguments.int("steps") ?? settings.steps
    settings.warmup = try arguments.int("warmup") ?? settings.warmup
    if let names = arguments.string("columns") {
        settings.columns = try names.split(separator: ",", omittingEmptySubsequences: false).map { name in
            guard let column = UNetBenchmarkColumn(rawValue: String(name)) else {
                throw UsageError("option --columns: '\(name)' is not one of "
                    + UNetBenchmarkColumn.allCases.map(\.rawValue).joined(separator: ", "))
            }
            return column
        }
    }
    if let budget = try arguments.double("memory-budget") {
        guard budget > 0, budget < 1_048_576 else { throw UsageError("option --memory-budget expects GiB > 0, got \(budget)") }
        settings.memoryBudgetBytes = Int(budget * 1_073_741_824)
    }
    settings.clock = arguments.flag("cpu-time") ? .cpu : .wall
    let json = arguments.flag("json")
    try arguments.finish()
    do {
        try settings.validate()
    } catch PatchError.invalidToDoOption(let option, let reason) {
        throw UsageError("option \(["factor": "--downsample-factor"][option] ?? "--max-downsample"): \(reason)")
    } catch PatchError.invalidOption(let option, let reason) {
        let names = ["resolutions": "--resolutions", "batches": "--batch", "ratio": "--ratio",
                     "maxDownsample": "--max-downsample", "steps": "--steps", "warmup": "--warmup"]
        throw UsageError("option \(names[option] ?? option): \(reason)")
    }

    let benchmark = try UNetBenchmark(settings: settings)
    if json {
        print(try benchmark.json(try benchmark.run()))
    } else {
        print(benchmark.heading + "\n")
        print(benchmark.tableHeader)
        try benchmark.run { print(benchmark.tableLine($0)) }
    }
}
