import TensorCore

extension UNetConfig {
    /// A lower bound on the model's parameter count, in overflow-checked arithmetic (nil: more than `Int` holds):
    /// the second 3×3 convolution and the time projection of every ResNet, and the attention, feed-forward and
    /// projection matrices of every transformer block. Used to refuse a configuration whose weights cannot fit in
    /// memory before any is allocated (SD 1.5: about 0.6 × 10⁹ of its 0.86 × 10⁹).
    public var minimumParameterCount: Int? {
        let time = resolvedTimeEmbeddingDim
        func resnets(_ count: Int, _ channels: Int) -> Int? {
            let one = CheckedSize.sum([CheckedSize.product([9, channels, channels]), CheckedSize.product([time, channels])])
            return one.flatMap { CheckedSize.product([count, $0]) }
        }
        func transformers(_ count: Int, _ channels: Int, depth: Int, context: Int) -> Int? {
            // proj_in and proj_out; per block: self-attention 4c², cross-attention 2c² + 2c·context, GEGLU 12c².
            let block = CheckedSize.sum([CheckedSize.product([18, channels, channels]), CheckedSize.product([2, channels, context])])
            let model = CheckedSize.sum([CheckedSize.product([2, channels, channels]), block.flatMap { CheckedSize.product([depth, $0]) }])
            return model.flatMap { CheckedSize.product([count, $0]) }
        }
        let blocks = downBlockTypes.count
        var terms: [Int?] = [CheckedSize.product([blockOutChannels[0], time]), CheckedSize.product([time, time])]
        for level in 0..<blocks {
            let (channels, layers) = (blockOutChannels[level], layersPerBlock[level])
            let (depth, context) = (transformerLayersPerBlock[level], crossAttentionDim[level])
            // The down block at this level has `layers` ResNets, the up block `layers + 1` (on wider inputs).
            terms.append(resnets(2 * layers + 1, channels))
            if downBlockTypes[level] == .crossAttention {
                terms.append(transformers(layers, channels, depth: depth, context: context))
            }
            if upBlockTypes[blocks - 1 - level] == .crossAttention {
                terms.append(transformers(layers + 1, channels, depth: depth, context: context))
            }
        }
        if midBlockType != nil, let last = blockOutChannels.last {
            terms.append(resnets(2, last))
            terms.append(transformers(1, last, depth: transformerLayersPerBlock[blocks - 1], context: crossAttentionDim[blocks - 1]))
        }
        return CheckedSize.sum(terms)
    }

    /// An estimate of the activation memory of one forward on a `[batch, height, width, in_channels]` latent, in
    /// bytes (nil: more than `Int` holds): the skip connections every level keeps for the up path, the working
    /// buffers of the widest level (the 3×3 convolutions' unfolded inputs on concatenated channels, the GEGLU
    /// hidden layer), and with `standard` attention one head's full score matrix per batch item. Checked against
    /// physical memory before a forward or a generation starts.
    public func estimatedActivationBytes(batch: Int, height: Int, width: Int, attention: AttentionImplementation) -> Int? {
        var floats: [Int?] = []
        var working = 0
        var (levelHeight, levelWidth) = (height, width)
        for level in blockOutChannels.indices {
            guard let tokens = CheckedSize.product([batch, levelHeight, levelWidth]),
                  let buffers = CheckedSize.product([30, tokens, blockOutChannels[level]]) else { return nil }
            floats.append(CheckedSize.product([layersPerBlock[level] + 1, tokens, blockOutChannels[level]]))
            working = max(working, buffers)
            (levelHeight, levelWidth) = ((levelHeight + 1) / 2, (levelWidth + 1) / 2)
        }
        floats.append(working)
        if attention == .standard {
            floats.append(CheckedSize.product([height, width]).flatMap { CheckedSize.product([batch, $0, $0]) })
        }
        return CheckedSize.sum(floats).flatMap { CheckedSize.product([MemoryLayout<Float>.stride, $0]) }
    }
}
