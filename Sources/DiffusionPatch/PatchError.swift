/// Errors from applying or running the Token Merging patch. Each message names the option or the shapes involved.
public enum PatchError: Error, Equatable, CustomStringConvertible {
    /// An option outside what tomesd accepts: its name (as in ``ToMeOptions``) and what is wrong.
    case invalidOption(option: String, reason: String)
    /// A transformer block whose token grid cannot hold one `sx × sy` cell, so no destination exists (tomesd
    /// fails there too, in `scores.max`): raise the latent size, lower `maxDownsample`, or lower `sx`/`sy`.
    case gridTooSmall(height: Int, width: Int, sx: Int, sy: Int, downsample: Int)
    /// A transformer block whose token count is not the `h × w` grid tomesd derives from the latent size (tomesd
    /// fails there too, in `gather`).
    case gridMismatch(tokens: Int, latentHeight: Int, latentWidth: Int, downsample: Int, height: Int, width: Int)
    /// A Token Downsampling option outside what is accepted: its name (as in ``ToDoOptions``) and what is wrong.
    case invalidToDoOption(option: String, reason: String)
    /// A transformer block whose `height × width` token grid is smaller than one `factor × factor` cell, so Token
    /// Downsampling would leave no key/value token (the reference fails there too): use a larger latent, a smaller
    /// factor or a smaller maxDownsample.
    case downsampledGridEmpty(height: Int, width: Int, factor: Int, downsample: Int)

    /// A human-readable description naming the problem.
    public var description: String {
        switch self {
        case .invalidOption(let option, let reason):
            return "ToMe option \(option): \(reason)"
        case .gridTooSmall(let height, let width, let sx, let sy, let downsample):
            return "ToMe: a transformer block at downsample \(downsample) has a \(height)×\(width) token grid, "
                + "smaller than one sy×sx = \(sy)×\(sx) cell; use a larger latent, a smaller maxDownsample or smaller sx/sy"
        case .gridMismatch(let tokens, let latentHeight, let latentWidth, let downsample, let height, let width):
            return "ToMe/ToDo: a transformer block has \(tokens) tokens, but a \(latentHeight)×\(latentWidth) latent at "
                + "downsample \(downsample) gives a \(height)×\(width) grid (\(height * width) tokens)"
        case .invalidToDoOption(let option, let reason):
            return "ToDo option \(option): \(reason)"
        case .downsampledGridEmpty(let height, let width, let factor, let downsample):
            return "ToDo: a transformer block at downsample \(downsample) has a \(height)×\(width) token grid, "
                + "which downsampling by \(factor) leaves empty; use a larger latent, a smaller factor or a smaller "
                + "maxDownsample"
        }
    }
}
