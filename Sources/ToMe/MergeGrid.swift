/// tomesd 0.1.3's arithmetic for one transformer-block call (`compute_merge` and the start of
/// `bipartite_soft_matching_random2d`): how downsampled the block is, its token grid, its destinations and how
/// many tokens merge (`r`). The one home of these rules: the patch, the FLOP model, the CLI and the CUDA backend
/// all use it.
public struct MergeGrid: Equatable, Sendable {
    /// `ceil(sqrt(H·W // N))` for a block of `N` tokens in a UNet call on an `H × W` latent.
    public let downsample: Int
    /// `ceil(H / downsample)`.
    public let height: Int
    /// `ceil(W / downsample)`.
    public let width: Int
    /// `r = Int(N · ratio)`, before ``clamp(r:sourceCount:)``.
    public let r: Int

    /// The grid of a block with `tokens` tokens in a UNet call on a `latentHeight × latentWidth` latent, or nil
    /// where tomesd merges nothing: the block is downsampled more than `maxDownsample` or `r` is 0. A block with no
    /// tokens, or more tokens than the latent, is no UNet block and gets nil too. `ratio` is taken as validated.
    public init?(tokens: Int, latentHeight: Int, latentWidth: Int, ratio: Double, maxDownsample: Int) {
        guard let level = MergeGrid.level(tokens: tokens, latentHeight: latentHeight, latentWidth: latentWidth) else {
            return nil
        }
        r = MergeGrid.unclampedR(tokenCount: tokens, ratio: ratio)
        guard MergeGrid.merges(downsample: level.downsample, maxDownsample: maxDownsample), r > 0 else { return nil }
        (downsample, height, width) = level
    }

    /// tomesd's downsampling level `ceil(sqrt(H·W // N))` of a block with `tokens` tokens in a UNet call on a
    /// `latentHeight × latentWidth` latent, and the grid `ceil(H / downsample) × ceil(W / downsample)` of that level
    /// (Token Downsampling selects its blocks and grids by the same rule). nil for a block with no tokens or more
    /// tokens than the latent.
    public static func level(tokens: Int, latentHeight: Int, latentWidth: Int)
        -> (downsample: Int, height: Int, width: Int)? {
        let latentTokens = latentHeight * latentWidth
        guard tokens >= 1, tokens <= latentTokens else { return nil }
        let downsample = Int(Double(latentTokens / tokens).squareRoot().rounded(.up))
        return (downsample, (latentHeight + downsample - 1) / downsample, (latentWidth + downsample - 1) / downsample)
    }

    /// tomesd's level rule: a block downsampled `downsample` times merges only when that is at most
    /// `maxDownsample`. (The patch's notice that a model merges nothing applies it to the model's levels.)
    public static func merges(downsample: Int, maxDownsample: Int) -> Bool { downsample <= maxDownsample }

    /// Whether the grid has exactly `tokens` tokens (tomesd fails in `gather` where it has not).
    public func fits(tokens: Int) -> Bool { height * width == tokens }

    /// Whether the grid holds at least one `sy × sx` cell (tomesd fails in `scores.max` where it does not).
    public func holdsCell(sx: Int, sy: Int) -> Bool { height >= sy && width >= sx }

    /// Tokens actually merged in this grid: ``r`` clamped to its sources.
    public func clampedR(sx: Int, sy: Int) -> Int {
        MergeGrid.clamp(r: r, sourceCount: height * width - MergeGrid.destinationCount(height: height, width: width,
                                                                                       sx: sx, sy: sy))
    }

    /// tomesd's `r = Int(N · ratio)` for `tokenCount` tokens.
    /// - Throws: ``ToMeError/invalidArgument(argument:reason:)`` unless `0 <= ratio < 1`.
    public static func r(tokenCount: Int, ratio: Double) throws -> Int {
        guard ratio >= 0, ratio < 1 else {
            throw ToMeError.invalidArgument(argument: "ratio", reason: "\(ratio) is outside [0, 1)")
        }
        return unclampedR(tokenCount: tokenCount, ratio: ratio)
    }

    /// Destinations of a `height × width` grid cut into `sy × sx` cells: one per whole cell.
    public static func destinationCount(height: Int, width: Int, sx: Int, sy: Int) -> Int {
        (height / sy) * (width / sx)
    }

    /// `r` clamped to the number of sources, tomesd's `r = min(a.shape[1], r)`: only sources merge.
    public static func clamp(r: Int, sourceCount: Int) -> Int { min(r, sourceCount) }

    private static func unclampedR(tokenCount: Int, ratio: Double) -> Int { Int(Double(tokenCount) * ratio) }
}
