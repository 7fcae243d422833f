import Foundation
import DiffusionPatch
import TensorCore

/// The Token Downsampling options of `tomesd unet` and `tomesd generate`: `--method todo` switches it on (instead of
/// Token Merging, `--method tome`, the default), with `--downsample-factor F`, `--downsample-method M` and the
/// shared `--max-downsample N`, and `--timestep-threshold-stop T` (downsample only while timestep / 1000 > T).
enum ToDoArguments {
    /// The options, declared once for every command that patches a UNet (`--max-downsample` is Token Merging's
    /// declaration, shared).
    static let options: [CommandOption] = {
        let defaults = ToDoOptions.defaults
        return [
            .value("method", "tome|todo", default: "tome", "the token reduction: tome (Token Merging, with --ratio) or "
                + "todo (Token Downsampling: self-attention's keys and values from a downsampled token grid)"),
            .value("downsample-factor", "F", default: "\(defaults.factor)",
                   "with --method todo: shrink the key/value grid by F on each axis, 1 to \(ToDoOptions.maxFactor)"),
            .value("downsample-method", ResizeMethod.allCases.map(\.rawValue).joined(separator: "|"),
                   default: defaults.method.rawValue, "with --method todo: how the grid is shrunk (PyTorch's modes)"),
            .value("timestep-threshold-stop", "T", "with --method todo: downsample only while timestep / 1000 > T, "
                + "in [0, 1] (default: at every timestep)"),
        ]
    }()

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
        guard method == "todo" else {
            for name in ["downsample-factor", "downsample-method", "timestep-threshold-stop"] where arguments.isGiven(name) {
                throw UsageError("option --\(name) goes with --method todo")
            }
            return nil
        }
        for name in tomeOnly + tomeOnlyFlags where arguments.isGiven(name) {
            throw UsageError("option --\(name) goes with --method tome (Token Merging), not --method todo")
        }
        let factor = try arguments.int("downsample-factor")
        let resizeName = arguments.string("downsample-method")
        let threshold = try arguments.double("timestep-threshold-stop")
        var resize = ResizeMethod.nearestExact
        if let resizeName {
            guard let chosen = ResizeMethod(rawValue: resizeName) else {
                throw UsageError("option --downsample-method expects one of "
                    + ResizeMethod.allCases.map(\.rawValue).joined(separator: ", ") + ", got '\(resizeName)'")
            }
            resize = chosen
        }
        let (maxDownsample, followsModel) = try ToMeArguments.maxDownsample(&arguments)
        do {
            var options = try ToDoOptions(factor: factor ?? 2, method: resize, maxDownsample: maxDownsample,
                                          timestepThresholdStop: threshold)
            options.followsHighestAttentionLevel = followsModel
            return options
        } catch PatchError.invalidToDoOption(let option, let reason) {
            let names = ["factor": "--downsample-factor", "maxDownsample": "--max-downsample",
                         "timestepThresholdStop": "--timestep-threshold-stop"]
            throw UsageError("option \(names[option] ?? option): \(reason)")
        }
    }

    /// Writes a one-line notice to standard error when `patch` downsamples nothing on the model it was applied to
    /// (SDXL at `--max-downsample 1`: its highest-resolution level has no attention).
    static func noticeIfIdle(_ patch: ToDoPatch, model: some ToMePatchable) {
        guard patch.downsamplesNothing, patch.options.factor > 1 else { return }
        fputs("note: Token Downsampling downsamples nothing on this model at --max-downsample \(patch.options.maxDownsample)"
              + ToMeArguments.attentionLevelAdvice(model) + "\n", stderr)
    }

    /// One line on what the patch did over `forwards` UNet calls.
    static func summary(_ statistics: ToDoStatistics, forwards: Int) -> String {
        String(format: "ToDo: removed %d key/value tokens in %d of %d block calls; overhead %.3f s per forward",
               statistics.tokensRemoved / forwards, statistics.downsamplingCalls / forwards,
               statistics.blockCalls / forwards, statistics.overheadSeconds / Double(forwards))
    }
}
