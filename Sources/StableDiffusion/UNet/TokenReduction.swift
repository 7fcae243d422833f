import TensorCore

/// What a token-reduction hook knows about the UNet call its block is part of.
public struct TokenReductionContext: Hashable, Sendable {
    /// Height of the latent the UNet was called with (the sample's H, not the block's).
    public let latentHeight: Int
    /// Width of the latent the UNet was called with.
    public let latentWidth: Int
    /// The UNet call's timestep (the first batch item's), nil where unknown.
    public let timestep: Float?

    /// A context for a UNet call on a `latentHeight` × `latentWidth` latent at `timestep`.
    public init(latentHeight: Int, latentWidth: Int, timestep: Float? = nil) {
        self.latentHeight = latentHeight
        self.latentWidth = latentWidth
        self.timestep = timestep
    }
}

/// Shrinks a block's tokens before a sub-layer and restores them after it, as tomesd's (merge, unmerge) pair.
public protocol TokenReducer {
    /// `[B, N, C]` → `[B, N', C]`, applied to the normalised input of the sub-layer.
    func merge(_ tokens: Tensor) throws -> Tensor
    /// `[B, N', C]` → `[B, N, C]`, applied to the sub-layer's output before the residual connection.
    func unmerge(_ tokens: Tensor) throws -> Tensor
}

/// Shrinks the tokens self-attention takes its keys and values from (Token Downsampling), leaving its queries and
/// output alone.
public protocol KeyValueReducer {
    /// `[B, N, C]` → `[B, M, C]`: the tokens the keys and values of self-attention are projected from.
    func reduceKeysValues(_ tokens: Tensor) throws -> Tensor
}

/// What to do around each sub-layer of one ``BasicTransformerBlock`` call: a reducer, or nil for nothing.
/// tomesd's `compute_merge` returns the same six functions `(m_a, m_c, m_m, u_a, u_c, u_m)`; Token Downsampling
/// uses the fourth, ``selfAttentionKeysValues``.
public struct TokenReductionPlan {
    /// Around self-attention (`attn1`).
    public var selfAttention: (any TokenReducer)?
    /// Around cross-attention (`attn2`).
    public var crossAttention: (any TokenReducer)?
    /// Around the feed-forward network (`ff`).
    public var feedForward: (any TokenReducer)?
    /// The source of self-attention's keys and values: applied to the block's normalised input (`norm1`'s output,
    /// before any ``selfAttention`` reducer merges it, so it always sees the full token grid); nil: keys and values
    /// come from the same tokens as the queries.
    public var selfAttentionKeysValues: (any KeyValueReducer)?

    /// A plan with the given reducers (nil: leave that sub-layer alone).
    public init(selfAttention: (any TokenReducer)? = nil, crossAttention: (any TokenReducer)? = nil,
                feedForward: (any TokenReducer)? = nil, selfAttentionKeysValues: (any KeyValueReducer)? = nil) {
        self.selfAttention = selfAttention
        self.crossAttention = crossAttention
        self.feedForward = feedForward
        self.selfAttentionKeysValues = selfAttentionKeysValues
    }

    /// Reduce nothing.
    public static let unchanged = TokenReductionPlan()
}

/// A per-block hook that decides, on every call, how to reduce the block's tokens (Token Merging installs one on
/// every ``BasicTransformerBlock``; the model knows nothing about what it does). A block may hold several hooks;
/// each plans from the block's input, and a later hook's reducers receive what the earlier ones left.
public protocol TokenReductionHook: AnyObject {
    /// The plan for one call of a block, given the block's input hidden states `[B, N, C]` (before `norm1`) and
    /// the UNet call's latent size.
    func plan(for hiddenStates: Tensor, context: TokenReductionContext) throws -> TokenReductionPlan
}
