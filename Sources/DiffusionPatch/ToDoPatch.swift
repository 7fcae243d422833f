import Foundation
import StableDiffusion
import TensorCore
import ToMe

/// Token Downsampling (ToDo) installed on every transformer block of a UNet (see
/// ``applyTokenDownsampling(_:options:)``): the Swift twin of the reference's `compute_merge` with
/// `merge_tokens="keys/values"` and `merge_method="downsample"`, called once per block call.
///
/// Per call, with the block's `N` tokens and the UNet call's `H × W` latent:
/// 1. `downsample = ceil(sqrt(H·W // N))` and the grid `h × w = ceil(H / downsample) × ceil(W / downsample)`
///    (``ToDoOptions/keyValueGrid(tokens:latentHeight:latentWidth:)``, Token Merging's rule); a block with
///    `downsample > maxDownsample`, or a factor of 1, is left alone, and so is every block of a call whose
///    timestep is past ``ToDoOptions/timestepThresholdStop``;
/// 2. self-attention's keys and values are projected from `norm1`'s output resized from `h × w` to
///    `h // factor × w // factor` tokens by ``ToDoOptions/method``; its queries and output keep all `N` tokens.
///
/// Nothing is random and nothing is restored: the patch has no state besides its statistics.
public final class ToDoPatch: TokenReductionHook {
    /// The options the patch was applied with.
    public let options: ToDoOptions
    /// True when the patch acts on no level of the model it was applied to (factor 1, or no transformer block at
    /// `maxDownsample` or above: SDXL at 1).
    public internal(set) var downsamplesNothing = false
    private let lock = NSLock()
    private var counters = ToDoStatistics()

    /// A patch with validated `options`, not yet installed.
    /// - Throws: ``PatchError/invalidToDoOption(option:reason:)``.
    public init(options: ToDoOptions) throws {
        try options.validate()
        self.options = options
    }

    /// What the patch has done since it was applied or since ``resetStatistics()``.
    public var statistics: ToDoStatistics {
        lock.lock()
        defer { lock.unlock() }
        return counters
    }

    /// Zeroes ``statistics``.
    public func resetStatistics() {
        update { $0 = ToDoStatistics() }
    }

    /// The plan of one block call: a key/value reducer for self-attention, or nothing.
    /// - Throws: ``PatchError/gridMismatch(tokens:latentHeight:latentWidth:downsample:height:width:)`` when the
    ///   block's tokens are not the grid derived from the latent; ``PatchError/downsampledGridEmpty(height:width:factor:downsample:)``
    ///   when the factor leaves no token; `TensorError` when a pooling kernel cannot give the downsampled size.
    public func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan {
        update { $0.blockCalls += 1 }
        guard hiddenStates.rank == 3, options.acts(atTimestep: context.timestep),
              let grid = options.keyValueGrid(tokens: hiddenStates.shape[1], latentHeight: context.latentHeight,
                                              latentWidth: context.latentWidth) else { return .unchanged }
        let tokens = hiddenStates.shape[1]
        guard grid.height * grid.width == tokens else {
            throw PatchError.gridMismatch(tokens: tokens, latentHeight: context.latentHeight,
                                          latentWidth: context.latentWidth, downsample: grid.downsample,
                                          height: grid.height, width: grid.width)
        }
        let (height, width) = (grid.keyValueHeight, grid.keyValueWidth)
        guard height >= 1, width >= 1 else {
            throw PatchError.downsampledGridEmpty(height: grid.height, width: grid.width, factor: options.factor,
                                                  downsample: grid.downsample)
        }
        update {
            $0.downsamplingCalls += 1
            $0.tokensRemoved += tokens - height * width
        }
        return TokenReductionPlan(selfAttentionKeysValues: GridDownsampler(
            grid: (grid.height, grid.width), downsampled: (height, width), method: options.method, patch: self))
    }

    /// Changes the statistics under the lock.
    func update(_ change: (inout ToDoStatistics) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        change(&counters)
    }
}

/// The reference's `up_or_downsample`: `[B, h·w, C]` tokens as a `[B, h, w, C]` grid, resized to
/// `[B, h'·w', C]`, timing itself into the patch's statistics.
private struct GridDownsampler: KeyValueReducer {
    let grid: (height: Int, width: Int)
    let downsampled: (height: Int, width: Int)
    let method: ResizeMethod
    let patch: ToDoPatch

    func reduceKeysValues(_ tokens: Tensor) throws -> Tensor {
        let start = ProcessMetrics.now()
        let (batch, channels) = (tokens.shape[0], tokens.shape[2])
        let resized = try tokens.reshaped([batch, grid.height, grid.width, channels])
            .resizedNHWC(height: downsampled.height, width: downsampled.width, method: method)
        patch.update { $0.overheadSeconds += ProcessMetrics.seconds(since: start) }
        return try resized.reshaped([batch, downsampled.height * downsampled.width, channels])
    }
}
