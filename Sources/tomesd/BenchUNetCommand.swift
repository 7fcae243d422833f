import DiffusionPatch
import Foundation
import TensorCore
import UNetBenchmarking

/// `tomesd bench unet`: tomesd's benchmark table for an SD 1.5- or (`--architecture sdxl`) SDXL-shaped UNet with seeded
/// random weights (``UNetBenchmark``),
/// row by row as Markdown, or as JSON (what `Benchmarks/python/unet_tome_vs_diffusers.py` reads). `--cpu-time` reports
/// CPU time ÷ threads instead of wall time, for machines shared with other work. `--method todo` measures Token
/// Downsampling's columns instead of Token Merging's.
let benchUNetCommand = Subcommand(
    name: "bench unet",
    summary: "tomesd's benchmark table: an SD 1.5- or SDXL-sized UNet with and without Token Merging",
    details: "Times an SD 1.5-sized (or, with --architecture sdxl, SDXL base-sized: 10.3 GB of weights) UNet with "
        + "seeded random weights per resolution and batch size, with and without "
        + "Token Merging, and prints tomesd's table row by row as Markdown, or JSON (what "
        + "Benchmarks/python/unet_tome_vs_diffusers.py reads). Cells that would need more than --memory-budget are "
        + "skipped. --cpu-time reports CPU time ÷ threads instead of wall time, for machines shared with other work.",
    options: {
        let defaults = UNetBenchmarkSettings()
        let list = { (values: [Int]) in values.map(String.init).joined(separator: ",") }
        return [
            .value("architecture", "NAME", default: defaults.architecture.rawValue,
                   "the UNet's shape: " + UNetBenchmarkArchitecture.allCases.map(\.rawValue).joined(separator: " or ")),
            .value("resolutions", "PX,...", default: list(defaults.resolutions), "image sizes in pixels (square)"),
            .value("batch", "B,...", default: list(defaults.batches), "batch sizes"),
            .value("ratio", "R", default: "\(defaults.options.ratio)", "Token Merging ratio of the ToMe columns"),
            .value("max-downsample", "N", default: "\(defaults.options.maxDownsample)",
                   "Token Merging's max downsample of the ToMe columns: 1, 2, 4 or 8"),
            .precision,
            .value("steps", "N", default: "\(defaults.steps)", "timed UNet forwards per cell (the median is reported)"),
            .value("warmup", "N", default: "\(defaults.warmup)", "untimed forwards per cell first"),
            .value("method", "tome|todo", default: "tome", "todo: measure Token Downsampling's columns (vanilla, todo, "
                + "todo-memory-efficient) unless --columns says otherwise"),
            .value("downsample-factor", "F", default: "\(defaults.downsampling.factor)",
                   "Token Downsampling's factor of the ToDo columns (their max downsample is --max-downsample's)"),
            .value("downsample-method", ResizeMethod.allCases.map(\.rawValue).joined(separator: "|"),
                   default: defaults.downsampling.method.rawValue, "Token Downsampling's resize of the ToDo columns"),
            .value("columns", "NAME,...", default: defaults.columns.map(\.rawValue).joined(separator: ","),
                   "the columns to measure, from " + UNetBenchmarkColumn.allCases.map(\.rawValue).joined(separator: ", ")),
            .value("memory-budget", "GiB", "skip cells estimated to need more (default: 75% of the physical memory)"),
            .flag("cpu-time", "report CPU time ÷ threads instead of wall time"),
            .flag("json", "print JSON instead of a Markdown table"),
        ]
    }()
) { arguments in
    var settings = UNetBenchmarkSettings()
    let architectureName = try arguments.required("architecture")
    guard let architecture = UNetBenchmarkArchitecture(rawValue: architectureName) else {
        throw UsageError("option --architecture expects one of "
            + UNetBenchmarkArchitecture.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(architectureName)'")
    }
    settings.architecture = architecture
    settings.resolutions = try arguments.requiredInts("resolutions")
    settings.batches = try arguments.requiredInts("batch")
    settings.options.ratio = try arguments.requiredDouble("ratio")
    settings.options.maxDownsample = try arguments.requiredInt("max-downsample")
    settings.steps = try arguments.requiredInt("steps", in: 1...10_000)
    settings.warmup = try arguments.requiredInt("warmup", in: 0...10_000)
    settings.precision = try parsePrecision(try arguments.required("precision"))
    // ToDo: `--method todo` makes its columns the default; its options apply to the ToDo columns.
    let method = try arguments.required("method")
    guard method == "tome" || method == "todo" else { throw UsageError("option --method expects tome or todo, got '\(method)'") }
    settings.downsampling.maxDownsample = settings.options.maxDownsample
    settings.downsampling.factor = try arguments.requiredInt("downsample-factor")
    let resizeName = try arguments.required("downsample-method")
    guard let resize = ResizeMethod(rawValue: resizeName) else {
        throw UsageError("option --downsample-method expects one of "
            + ResizeMethod.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(resizeName)'")
    }
    settings.downsampling.method = resize
    let columnsGiven = arguments.isGiven("columns")
    let columnNames = try arguments.required("columns")
    settings.columns = try columnNames.split(separator: ",", omittingEmptySubsequences: false).map { name in
        guard let column = UNetBenchmarkColumn(rawValue: String(name)) else {
            throw UsageError("option --columns: '\(name)' is not one of "
                + UNetBenchmarkColumn.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return column
    }
    if method == "todo", !columnsGiven { settings.columns = UNetBenchmarkColumn.todoTable }
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
