/// The options of the Token Merging patch, tomesd 0.1.3's `apply_patch` arguments (same names in Swift case, same
/// defaults), plus the seed of the patch's own random generator.
///
/// | Option | tomesd | Default | Meaning |
/// |---|---|---|---|
/// | ``ratio`` | `ratio` | 0.5 | fraction of a block's tokens to merge, `r = Int(N · ratio)` |
/// | ``maxDownsample`` | `max_downsample` | 1 | merge only in blocks downsampled at most this much (1, 2, 4 or 8) |
/// | ``sx``, ``sy`` | `sx`, `sy` | 2, 2 | destination stride: one destination per `sy × sx` cell |
/// | ``useRandom`` | `use_rand` | true | pick each cell's destination at random (off for odd batch sizes) |
/// | ``mergeAttention`` | `merge_attn` | true | merge around self-attention |
/// | ``mergeCrossAttention`` | `merge_crossattn` | false | merge around cross-attention |
/// | ``mergeMLP`` | `merge_mlp` | false | merge around the feed-forward network |
/// | ``seed`` | (torch's global RNG) | 0 | seed of the partition generator (see ``ToMePatch``) |
/// | ``followsHighestAttentionLevel`` | — | false | let ``applyPatch(_:options:)`` set ``maxDownsample`` to the model's highest-resolution level with attention |
///
/// **SDXL.** SDXL's UNet has no attention at its highest-resolution level (downsample 1), so tomesd's default
/// `maxDownsample` 1 merges nothing there (the patch says so: ``ToMePatch/mergesNothing``). `maxDownsample` 2 merges
/// at SDXL's second level, 4 at both; ``highestAttentionLevel(of:)`` (or ``followsHighestAttentionLevel``, CLI
/// `--max-downsample auto`) names "the highest-resolution level that has attention" for any architecture: 1 on SD
/// 1.x and 2.x, 2 on SDXL.
///
/// **Effective ratio.** Only sources merge, and each `sy × sx` cell keeps one destination, so at most
/// `N − N / (sx · sy)` tokens can go: tomesd clamps `r` to the number of sources, which caps the effective ratio at
/// `1 − 1 / (sx · sy)` (0.75 for the default 2 × 2). A larger ``ratio`` is accepted and merges every source.
public struct ToMeOptions: Equatable, Sendable {
    /// The downsampling levels tomesd accepts for ``maxDownsample``.
    public static let downsampleLevels = [1, 2, 4, 8]

    /// Fraction of tokens to merge, in `[0, 1)`.
    public var ratio: Double
    /// Merge only in transformer blocks whose feature map is downsampled at most this much (1, 2, 4 or 8).
    public var maxDownsample: Int
    /// Destination stride along the width (columns per cell), at least 1.
    public var sx: Int
    /// Destination stride along the height (rows per cell), at least 1.
    public var sy: Int
    /// Whether each cell's destination is random; forced off for odd batch sizes, as in tomesd.
    public var useRandom: Bool
    /// Merge before self-attention and unmerge after it.
    public var mergeAttention: Bool
    /// Merge before cross-attention and unmerge after it.
    public var mergeCrossAttention: Bool
    /// Merge before the feed-forward network and unmerge after it.
    public var mergeMLP: Bool
    /// Seed of the patch's partition generator.
    public var seed: UInt64
    /// When true, ``applyPatch(_:options:)`` replaces ``maxDownsample`` with ``highestAttentionLevel(of:)`` of the
    /// model it patches (the installed patch's options hold the value used).
    public var followsHighestAttentionLevel = false

    /// Validated options; the defaults are tomesd's.
    /// - Throws: ``PatchError/invalidOption(option:reason:)`` for a ratio outside `[0, 1)`, a stride below 1 or a
    ///   `maxDownsample` other than 1, 2, 4 or 8.
    public init(ratio: Double = 0.5, maxDownsample: Int = 1, sx: Int = 2, sy: Int = 2, useRandom: Bool = true,
                mergeAttention: Bool = true, mergeCrossAttention: Bool = false, mergeMLP: Bool = false,
                seed: UInt64 = 0) throws {
        self.ratio = ratio
        self.maxDownsample = maxDownsample
        self.sx = sx
        self.sy = sy
        self.useRandom = useRandom
        self.mergeAttention = mergeAttention
        self.mergeCrossAttention = mergeCrossAttention
        self.mergeMLP = mergeMLP
        self.seed = seed
        try validate()
    }

    /// tomesd's defaults: ratio 0.5, maxDownsample 1, 2 × 2 cells, random, self-attention only, seed 0.
    public static let defaults = ToMeOptions(tomesdDefaults: ())

    private init(tomesdDefaults: Void) {
        (ratio, maxDownsample, sx, sy, useRandom, seed) = (0.5, 1, 2, 2, true, 0)
        (mergeAttention, mergeCrossAttention, mergeMLP) = (true, false, false)
    }

    /// The largest fraction of tokens that can actually merge, `1 − 1 / (sx · sy)` (see the type's documentation).
    public var effectiveRatioCap: Double { 1 - 1 / Double(sx * sy) }

    /// Whether any sub-layer merges at all.
    public var mergesAnySubLayer: Bool { mergeAttention || mergeCrossAttention || mergeMLP }

    /// Checks every option (the properties are mutable, so the patch checks again when applied).
    /// - Throws: ``PatchError/invalidOption(option:reason:)`` naming the first bad option.
    public func validate() throws {
        guard ratio.isFinite, ratio >= 0, ratio < 1 else {
            throw PatchError.invalidOption(option: "ratio", reason: "\(ratio) is outside [0, 1)")
        }
        guard Self.downsampleLevels.contains(maxDownsample) else {
            throw PatchError.invalidOption(option: "maxDownsample", reason: "\(maxDownsample) is not one of 1, 2, 4, 8")
        }
        guard sx >= 1 else { throw PatchError.invalidOption(option: "sx", reason: "\(sx) must be at least 1") }
        guard sy >= 1 else { throw PatchError.invalidOption(option: "sy", reason: "\(sy) must be at least 1") }
    }

    /// The downsampling of the model's highest-resolution level that has transformer blocks, as a
    /// ``maxDownsample`` value: 1 on SD 1.x and 2.x, 2 on SDXL; nil for a UNet without attention or whose attention
    /// is all deeper than 8 (tomesd accepts 1, 2, 4 and 8).
    public static func highestAttentionLevel(of model: some ToMePatchable) -> Int? {
        model.unet.config.attentionDownsampleFactors.first.flatMap { downsampleLevels.contains($0) ? $0 : nil }
    }
}
