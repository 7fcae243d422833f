import Foundation
import DiffusionPatch

/// The Token Merging options of `tomesd unet` (tomesd's `apply_patch` arguments): `--ratio R` switches the patch
/// on, the others need it.
enum ToMeArguments {
    /// The options, declared once for every command that patches a UNet. `--seed` is not among them: each command
    /// declares it, as it seeds the command's own randomness (weights, noise) and the random partitions alike.
    static let options: [CommandOption] = {
        let defaults = ToMeOptions.defaults
        return [
            .value("ratio", "R", "switches Token Merging on: the fraction of tokens to merge, in [0, 1) (tomesd's ratio; "
                + "off without it, and the options below need it)"),
            .value("max-downsample", "N", default: "\(defaults.maxDownsample)",
                   "merge (or, with --method todo, downsample) in the blocks downsampled at most N times: 1, 2, 4 "
                   + "or 8, or auto: the model's highest-resolution level with attention (1 on SD 1.x/2.x, 2 on "
                   + "SDXL, where 1 acts nowhere)"),
            .value("sx", "N", default: "\(defaults.sx)", "cell width: one destination token per sx × sy cell"),
            .value("sy", "N", default: "\(defaults.sy)", "cell height"),
            .flag("no-random", "take the destination token at the same place in every cell (default: a random one)"),
            .flag("merge-attention", "merge before self-attention (the default)"),
            .flag("no-merge-attention", "do not merge before self-attention"),
            .flag("merge-cross-attention", "merge before cross-attention too (default: off)"),
            .flag("merge-mlp", "merge before the feed-forward layer too (default: off)"),
        ]
    }()

    /// `--max-downsample`, shared by both reductions: a level (the options check it) or `auto`, to follow the model
    /// (the level is then a stand-in that the patch replaces by the model's when it is applied).
    /// - Throws: ``UsageError`` for anything but a number or `auto`.
    static func maxDownsample(_ arguments: inout Arguments) throws -> (level: Int, followsModel: Bool) {
        let text = try arguments.required("max-downsample")
        if text == "auto" { return (1, true) }
        guard let level = Int(text) else {
            throw UsageError("option --max-downsample expects 1, 2, 4, 8 or auto, got '\(text)'")
        }
        return (level, false)
    }

    /// The command-line name of each ``ToMeOptions`` property, for error messages.
    private static let optionNames = ["ratio": "--ratio", "maxDownsample": "--max-downsample", "sx": "--sx", "sy": "--sy"]

    /// The options given, or nil without `--ratio` (run unpatched) or with `--method todo`. `--seed` is shared with the command (it also
    /// seeds random weights), so it alone does not need `--ratio`.
    /// - Throws: ``UsageError`` for a bad value, both `--merge-attention` and `--no-merge-attention`, or a ToMe
    ///   option without `--ratio`.
    static func parse(_ arguments: inout Arguments) throws -> ToMeOptions? {
        guard !ToDoArguments.isSelected(&arguments) else { return nil }  // the shared options are ToDo's then
        let ratio = try arguments.double("ratio")
        let (maxDownsample, followsModel) = try Self.maxDownsample(&arguments)
        let sx = try arguments.requiredInt("sx"), sy = try arguments.requiredInt("sy")
        let seed = try arguments.seed()
        let noRandom = arguments.flag("no-random")
        let (attention, noAttention) = (arguments.flag("merge-attention"), arguments.flag("no-merge-attention"))
        let (crossAttention, mlp) = (arguments.flag("merge-cross-attention"), arguments.flag("merge-mlp"))
        guard !(attention && noAttention) else {
            throw UsageError("options --merge-attention and --no-merge-attention exclude each other")
        }
        guard let ratio else {
            let needsRatio = options.map(\.name).filter { $0 != "ratio" }
            if let given = needsRatio.first(where: { arguments.isGiven($0) }) {
                throw UsageError("option --\(given) needs --ratio (Token Merging is off without it)")
            }
            return nil
        }
        do {
            var options = try ToMeOptions(ratio: ratio, maxDownsample: maxDownsample, sx: sx, sy: sy,
                                          useRandom: !noRandom, mergeAttention: !noAttention,
                                          mergeCrossAttention: crossAttention, mergeMLP: mlp, seed: seed)
            options.followsHighestAttentionLevel = followsModel
            return options
        } catch PatchError.invalidOption(let option, let reason) {
            throw UsageError("option \(optionNames[option] ?? option): \(reason)")
        }
    }
}

extension ToMeArguments {
    /// Writes a one-line notice to standard error when `patch` merges nothing on the model it was applied to (SDXL
    /// at `--max-downsample 1`: its highest-resolution level has no attention).
    static func noticeIfIdle(_ patch: ToMePatch, model: some ToMePatchable) {
        guard patch.mergesNothing else { return }
        fputs("note: Token Merging merges nothing on this model at --max-downsample \(patch.options.maxDownsample)"
              + attentionLevelAdvice(model) + "\n", stderr)
    }

    /// " (attention at downsample 2, 4); its highest-resolution attention is at downsample 2: use --max-downsample 2
    /// or auto", for the notices of both reductions.
    static func attentionLevelAdvice(_ model: some ToMePatchable) -> String {
        let levels = model.unet.config.attentionDownsampleFactors
        let advice = ToMeOptions.highestAttentionLevel(of: model).map {
            "; its highest-resolution attention is at downsample \($0): use --max-downsample \($0) or auto"
        } ?? ""
        return " (attention at downsample \(levels.map(String.init).joined(separator: ", ")))" + advice
    }

    /// One line on what the patch did over `forwards` UNet calls: merges and the time they cost.
    static func summary(_ statistics: ToMeStatistics, forwards: Int) -> String {
        String(format: "ToMe: merged %d tokens in %d of %d block calls; overhead %.3f s per forward "
               + "(plan %.3f, merge %.3f, unmerge %.3f)", statistics.tokensMerged / forwards,
               statistics.mergingCalls / forwards, statistics.blockCalls / forwards,
               statistics.overheadSeconds / Double(forwards), statistics.planningSeconds / Double(forwards),
               statistics.mergeSeconds / Double(forwards), statistics.unmergeSeconds / Double(forwards))
    }
}
