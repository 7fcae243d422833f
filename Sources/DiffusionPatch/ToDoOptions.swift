import TensorCore
import ToMe

/// The options of Token Downsampling (ToDo, Smith et al. 2024, arXiv 2402.13573), named after the reference
/// implementation's arguments (github.com/ethansmith2000/ImprovedTokenMerge, `merge.py` / `utils.py`).
///
/// | Option | Reference | Default | Meaning |
/// |---|---|---|---|
/// | ``factor`` | `downsample_factor` | 2 | the key/value token grid shrinks by this on each axis (`h // factor`) |
/// | ``method`` | `downsample_method` | nearest-exact | how it shrinks (``ResizeMethod``) |
/// | ``maxDownsample`` | `downsample_factor_level_2` | 1 | downsample in blocks downsampled at most this much |
/// | ``timestepThresholdStop`` | `timestep_threshold_stop` | nil | downsample only while `timestep / 1000 >` this |
///
/// The reference downsamples level 1 by `downsample_factor` and level 2 by `downsample_factor_level_2` (default 1:
/// off). Here every selected level uses ``factor``, and the levels are selected as Token Merging's `max_downsample`
/// selects them: ``maxDownsample`` 1 is the reference's default, 2 its `downsample_factor_level_2 =
/// downsample_factor`; 4 and 8 reach deeper levels, which the reference leaves alone.
public struct ToDoOptions: Equatable, Sendable {
    /// The downsampling levels accepted for ``maxDownsample`` (Token Merging's).
    public static let downsampleLevels = ToMeOptions.downsampleLevels
    /// The largest accepted ``factor``.
    public static let maxFactor = 64

    /// The key/value grid `h × w` becomes `h // factor × w // factor`; 1 downsamples nothing.
    public var factor: Int
    /// How the grid is resized (the reference's `downsample_method`).
    public var method: ResizeMethod
    /// Downsample only in transformer blocks whose feature map is downsampled at most this much (1, 2, 4 or 8).
    public var maxDownsample: Int
    /// Downsample only in UNet calls whose timestep `t` has `t / 1000 >` this, in `[0, 1]` (the reference's
    /// `timestep_threshold_stop`): the first part of sampling, where the coarse layout forms, is reduced and the
    /// last steps, which draw the details, are not. nil downsamples at every timestep; 0 is the reference's
    /// default, which differs from nil only at timestep 0.
    public var timestepThresholdStop: Double?
    /// When true, ``applyTokenDownsampling(_:options:)`` replaces ``maxDownsample`` with
    /// ``ToMeOptions/highestAttentionLevel(of:)`` of the model it patches (the installed patch's options hold the
    /// value used).
    public var followsHighestAttentionLevel = false

    /// Validated options; the defaults are the reference's.
    /// - Throws: ``PatchError/invalidToDoOption(option:reason:)`` for a factor outside 1...64, a `maxDownsample`
    ///   other than 1, 2, 4 or 8, or a timestep threshold outside `[0, 1]`.
    public init(factor: Int = 2, method: ResizeMethod = .nearestExact, maxDownsample: Int = 1,
                timestepThresholdStop: Double? = nil) throws {
        self.factor = factor
        self.method = method
        self.maxDownsample = maxDownsample
        self.timestepThresholdStop = timestepThresholdStop
        try validate()
    }

    /// The reference's defaults: factor 2, nearest-exact, maxDownsample 1.
    public static let defaults = ToDoOptions(referenceDefaults: ())

    private init(referenceDefaults: Void) {
        (factor, method, maxDownsample, timestepThresholdStop) = (2, .nearestExact, 1, nil)
    }

    /// Whether ToDo acts in a UNet call at `timestep` (see ``timestepThresholdStop``; an unknown timestep acts).
    public func acts(atTimestep timestep: Float?) -> Bool {
        guard let threshold = timestepThresholdStop, let timestep else { return true }
        return Double(timestep) / 1000 > threshold
    }

    /// The token grid of a block with `tokens` tokens in a UNet call on a `latentHeight × latentWidth` latent, when
    /// ToDo downsamples that block (its level is at most ``maxDownsample`` and ``factor`` exceeds 1), else nil;
    /// with the key/value grid it shrinks to, `height // factor × width // factor` (which may be empty).
    public func keyValueGrid(tokens: Int, latentHeight: Int, latentWidth: Int)
        -> (downsample: Int, height: Int, width: Int, keyValueHeight: Int, keyValueWidth: Int)? {
        guard factor > 1, let level = MergeGrid.level(tokens: tokens, latentHeight: latentHeight,
                                                      latentWidth: latentWidth),
              MergeGrid.merges(downsample: level.downsample, maxDownsample: maxDownsample) else { return nil }
        return (level.downsample, level.height, level.width, level.height / factor, level.width / factor)
    }

    /// Checks every option (the properties are mutable, so the patch checks again when applied).
    /// - Throws: ``PatchError/invalidToDoOption(option:reason:)`` naming the first bad option.
    public func validate() throws {
        guard (1...Self.maxFactor).contains(factor) else {
            throw PatchError.invalidToDoOption(option: "factor", reason: "\(factor) is outside 1...\(Self.maxFactor)")
        }
        guard Self.downsampleLevels.contains(maxDownsample) else {
            throw PatchError.invalidToDoOption(option: "maxDownsample", reason: "\(maxDownsample) is not one of 1, 2, 4, 8")
        }
        if let threshold = timestepThresholdStop, !(threshold >= 0 && threshold <= 1) {
            throw PatchError.invalidToDoOption(option: "timestepThresholdStop", reason: "\(threshold) is outside [0, 1]")
        }
    }
}
