/// What every layer of one UNet call shares: the attention implementation and the latent size (for token
/// reduction hooks).
struct UNetForwardState {
    let attention: AttentionImplementation
    let tokenContext: TokenReductionContext
}
