import DiffusionPatch
import Foundation
import UNetBenchmarking

/// `tomesd bench unet`: tomesd's benchmark table for an SD 1.5- or (`--architecture sdxl`) SDXL-shaped UNet with seeded
/// random weights (``UNetBenchmark``),
/// row by row as Markdown, or as JSON (what `Benchmarks/python/unet_tome_vs_diffusers.py` reads). `--cpu-time` reports
/// CPU time ÷ threads instead of wall time, for machines shared with other work.
let benchUNetCommand = Subcommand(
    name: "bench unet",
    usage: "bench unet [--architecture sd15|sdxl] [--resolutions 512,768,1024] [--batch 1,2,4] [--ratio 0.5] [--max-downsample N] "
        + "[--steps N] [--warmup N] [--columns vanilla,tome,tome-memory-efficient,memory-efficient] [--memory-budget GiB] [--cpu-time] [--json]",
    flags: ["json", "cpu-time"]
) { arguments in
    var settings = UNetBenchmarkSettings()
    if let name = arguments.string("architecture") {
        guard let architecture = UNetBenchmarkArchitecture(rawValue: name) else {
            throw UsageError("option --architecture expects one of "
                + UNetBenchmarkArchitecture.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(name)'")
        }
        settings.architecture = architecture
    }
    settings.resolutions = try arguments.ints("resolutions") ?? settings.resolutions
    settings.batches = try arguments.ints("batch") ?? settings.batches
    settings.options.ratio = try arguments.double("ratio") ?? settings.options.ratio
    settings.options.maxDownsample = try arguments.int("max-downsample") ?? settings.options.maxDownsample
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
