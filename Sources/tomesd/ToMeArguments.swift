import DiffusionPatch

/// The Token Merging options of `tomesd unet` (tomesd's `apply_patch` arguments): `--ratio R` switches the patch
/// on, the others need it.
enum ToMeArguments {
    /// The options that take no value.
    static let flags: Set<String> = ["no-random", "merge-attention", "no-merge-attention", "merge-cross-attention",
                                     "merge-mlp"]
    /// The usage text of the options. `--seed` is not among them: each command lists it once, as it seeds the
    /// command's own randomness (weights, noise) and the random partitions alike.
    static let usage = "[--ratio R [--max-downsample N] [--sx N] [--sy N] [--no-random] "
        + "[--merge-attention|--no-merge-attention] [--merge-cross-attention] [--merge-mlp]]"

    /// The command-line name of each ``ToMeOptions`` property, for error messages.
    private static let optionNames = ["ratio": "--ratio", "maxDownsample": "--max-downsample", "sx": "--sx", "sy": "--sy"]

    /// The options given, or nil without `--ratio` (run unpatched) or with `--method todo`. `--seed` is shared with the command (it also
    /// seeds random weights), so it alone does not need `--ratio`.
    /// - Throws: ``UsageError`` for a bad value, both `--merge-attention` and `--no-merge-attention`, or a ToMe
    ///   option without `--ratio`.
    static func parse(_ arguments: inout Arguments) throws -> ToMeOptions? {
        guard !ToDoArguments.isSelected(&arguments) else { return nil }  // the shared options are ToDo's then
        let ratio = try arguments.double("ratio")
        let maxDownsample = try arguments.int("max-downsample")
        let sx = try arguments.int("sx"), sy = try arguments.int("sy")
        let seed = try arguments.seed()
        let noRandom = arguments.flag("no-random")
        let (attention, noAttention) = (arguments.flag("merge-attention"), arguments.flag("no-merge-attention"))
        let (crossAttention, mlp) = (arguments.flag("merge-cross-attention"), arguments.flag("merge-mlp"))
        guard !(attention && noAttention) else {
            throw UsageError("options --merge-attention and --no-merge-attention exclude each other")
        }
        guard let ratio else {
            let given = [("--max-downsample", maxDownsample != nil), ("--sx", sx != nil), ("--sy", sy != nil),
                         ("--no-random", noRandom), ("--merge-attention", attention),
                         ("--no-merge-attention", noAttention), ("--merge-cross-attention", crossAttention),
                         ("--merge-mlp", mlp)].first { $0.1 }
            if let given { throw UsageError("option \(given.0) needs --ratio (Token Merging is off without it)") }
            return nil
        }
        do {
            return try ToMeOptions(ratio: ratio, maxDownsample: maxDownsample ?? 1, sx: sx ?? 2, sy: sy ?? 2,
                                   useRandom: !noRandom, mergeAttention: !noAttention,
                                   mergeCrossAttention: crossAttention, mergeMLP: mlp, seed: seed ?? 0)
        } catch PatchError.invalidOption(let option, let reason) {
            throw UsageError("option \(optionNames[option] ?? option): \(reason)")
        }
    }
}

extension ToMeArguments {
    /// One line on what the patch did over `forwards` UNet calls: merges and the time they cost.
    static func summary(_ statistics: ToMeStatistics, forwards: Int) -> String {
        String(format: "ToMe: merged %d tokens in %d of %d block calls; overhead %.3f s per forward "
               + "(plan %.3f, merge %.3f, unmerge %.3f)", statistics.tokensMerged / forwards,
               statistics.mergingCalls / forwards, statistics.blockCalls / forwards,
               statistics.overheadSeconds / Double(forwards), statistics.planningSeconds / Double(forwards),
               statistics.mergeSeconds / Double(forwards), statistics.unmergeSeconds / Double(forwards))
    }
}
