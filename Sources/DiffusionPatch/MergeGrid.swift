/// tomesd's view of one transformer block call (`compute_merge`, before the matching): how downsampled the block
/// is, whether it merges, its token grid and how many tokens it merges.
struct MergeGrid {
    /// `ceil(sqrt(H·W // N))` for a block of `N` tokens in a UNet call on an `H × W` latent.
    let downsample: Int
    /// `ceil(H / downsample)`.
    let height: Int
    /// `ceil(W / downsample)`.
    let width: Int
    /// `r = Int(N · ratio)`, before clamping to the number of sources.
    let requestedMerges: Int

    /// The grid of a block with `tokens` tokens, or nil where tomesd merges nothing: the block is downsampled more
    /// than `maxDownsample`, `r` is 0, or no sub-layer merges (a block with more tokens than the latent is no UNet
    /// block and is left alone too).
    init?(tokens: Int, latentHeight: Int, latentWidth: Int, options: ToMeOptions) {
        let latentTokens = latentHeight * latentWidth
        guard options.mergesAnySubLayer, tokens >= 1, tokens <= latentTokens else { return nil }
        downsample = Int(Double(latentTokens / tokens).squareRoot().rounded(.up))
        requestedMerges = Int(Double(tokens) * options.ratio)
        guard downsample <= options.maxDownsample, requestedMerges > 0 else { return nil }
        height = (latentHeight + downsample - 1) / downsample
        width = (latentWidth + downsample - 1) / downsample
    }

    /// Destinations: one per whole `sy × sx` cell.
    func destinationCount(sx: Int, sy: Int) -> Int { (height / sy) * (width / sx) }

    /// Tokens actually merged: `r` clamped to the number of sources.
    func mergedCount(sx: Int, sy: Int) -> Int { min(requestedMerges, height * width - destinationCount(sx: sx, sy: sy)) }
}
