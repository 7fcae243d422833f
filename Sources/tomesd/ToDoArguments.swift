import DiffusionPatch
import TensorCore

/// The Token Downsampling options of `tomesd unet` and `tomesd generate`: `--method todo` switches it on (instead of
/// Token Merging, `--method tome`, the default), with `--downsample-factor F`, `--downsample-method M` and the
/// shared `--max-downsample N`, and `--timestep-threshold-stop T` (downsample only while timestep / 1000 > T).
enum ToDoArguments {
    /// The usage text of the options.
    static let usage = "[--method tome|todo] [--downsample-factor F] [--downsample-method "
        + ResizeMethod.allCases.map(\.rawValue).joined(separator: "|") + "] [--timestep-threshold-stop T]"

    /// The Token Merging options that `--method todo` does not take.
    private static let tomeOnly = ["ratio", "sx", "sy"]
    private static let tomeOnlyFlags = ["no-random", "merge-attention", "no-merge-attention", "merge-cross-attention",
                                        "merge-mlp"]

    /// Whether `--method todo` was given (Token Merging's parser leaves the shared options to this one then).
    static func isSelected(_ arguments: inout Arguments) -> Bool { arguments.string("method") == "todo" }

    /// The options given, or nil unless `--method todo`.
    /// - Throws: ``UsageError`` naming the option: an unknown method, a bad value, a ToDo option without
    ///   `--method todo`, or a Token Merging option with it.
    static func parse(_ arguments: inout Arguments) throws -> ToDoOptions? {
        let method = arguments.string("method") ?? "tome"
        guard method == "tome" || method == "todo" else {
            throw UsageError("option --method expects tome or todo, got '\(method)'")
        }
        let factor = try arguments.int("downsample-factor")
        let resizeName = arguments.string("downsample-method")
        let threshold = try arguments.double("timestep-threshold-stop")
        guard method == "todo" else {
            if factor != nil { throw UsageError("option --downsample-factor goes with --method todo") }
            if threshold != nil { throw UsageError("option --timestep-threshold-stop goes with --method todo") }
            if resizeName != nil { throw UsageError("option --downsample-method goes with --method todo") }
            return nil
        }
        for name in tomeOnly where arguments.string(name) != nil {
            throw UsageError("option --\(name) goes with --method tome (Token Merging), not --method todo")
        }
        for name in tomeOnlyFlags where arguments.flag(name) {
            throw UsageError("option --\(name) goes with --method tome (Token Merging), not --method todo")
        }
        var resize = ResizeMethod.nearestExact
        if let resizeName {
            guard let chosen = ResizeMethod(rawValue: resizeName) else {
                throw UsageError("option --downsample-method expects one of "
                    + ResizeMethod.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(resizeName)'")
            }
            resize = chosen
        }
        do {
            return try ToDoOptions(factor: factor ?? 2, method: resize,
                                   maxDownsample: try arguments.int("max-downsample") ?? 1,
                                   timestepThresholdStop: threshold)
        } catch PatchError.invalidToDoOption(let option, let reason) {
            let names = ["factor": "--downsample-factor", "maxDownsample": "--max-downsample",
                         "timestepThresholdStop": "--timestep-threshold-stop"]
            throw UsageError("option \(names[option] ?? option): \(reason)")
        }
    }

    /// One line on what the patch did over `forwards` UNet calls.
    static func summary(_ statistics: ToDoStatistics, forwards: Int) -> String {
        String(format: "ToDo: removed %d key/value tokens in %d of %d block calls; overhead %.3f s per forward",
               statistics.tokensRemoved / forwards, statistics.downsamplingCalls / forwards,
               statistics.blockCalls / forwards, statistics.overheadSeconds / Double(forwards))
    }
}
