import TensorCore

extension UNetConfig {
    /// Checks that the configuration describes a UNet this implementation can build: consistent block counts,
    /// positive sizes, and channel counts that `normNumGroups` divides (every GroupNorm's, skip concatenations
    /// included). `path` names the configuration in errors.
    /// - Throws: ``ConfigError/invalid(path:key:reason:)`` naming the key.
    public func validate(path: String = "UNet configuration") throws {
        func invalid(_ key: String, _ reason: String) -> ConfigError { .invalid(path: path, key: key, reason: reason) }
        let blocks = downBlockTypes.count
        guard blocks >= 1 else { throw invalid("down_block_types", "needs at least one block") }
        guard upBlockTypes.count == blocks else {
            throw invalid("up_block_types", "has \(upBlockTypes.count) blocks, down_block_types has \(blocks)")
        }
        for (key, count) in [("block_out_channels", blockOutChannels.count), ("layers_per_block", layersPerBlock.count),
                             ("cross_attention_dim", crossAttentionDim.count),
                             ("transformer_layers_per_block", transformerLayersPerBlock.count),
                             ("attention_head_dim", attentionHeads.count)] where count != blocks {
            throw invalid(key, "has \(count) values, but there are \(blocks) down blocks")
        }
        for (key, values) in [("block_out_channels", blockOutChannels), ("layers_per_block", layersPerBlock),
                              ("cross_attention_dim", crossAttentionDim),
                              ("transformer_layers_per_block", transformerLayersPerBlock),
                              ("attention_head_dim", attentionHeads),
                              ("in_channels", [inChannels]), ("out_channels", [outChannels]),
                              ("norm_num_groups", [normNumGroups])] {
            if let bad = values.first(where: { $0 < 1 }) { throw invalid(key, "must be positive, got \(bad)") }
        }
        try checkLimits(path: path)
        for (block, heads) in attentionHeads.enumerated() where heads > blockOutChannels[block] {
            throw invalid("attention_head_dim", "\(heads) heads for the \(blockOutChannels[block]) channels of block \(block)")
        }
        for (key, size) in [("conv_in_kernel", convInKernel), ("conv_out_kernel", convOutKernel)] where size < 1 || size % 2 == 0 {
            throw invalid(key, "must be a positive odd number, got \(size)")
        }
        guard downsamplePadding >= 0 else { throw invalid("downsample_padding", "must not be negative, got \(downsamplePadding)") }
        guard normEps >= 0 else { throw invalid("norm_eps", "must not be negative, got \(normEps)") }
        if let dim = timeEmbeddingDim, dim < 1 { throw invalid("time_embedding_dim", "must be positive, got \(dim)") }
        if let textTime = textTimeEmbedding {
            guard textTime.timeEmbedDim >= 1 else {
                throw invalid("addition_time_embed_dim", "must be positive, got \(textTime.timeEmbedDim)")
            }
            guard textTime.projectionInputDim > 6 * textTime.timeEmbedDim else {
                throw invalid("projection_class_embeddings_input_dim",
                              "\(textTime.projectionInputDim) leaves no room for text embeddings beside 6 time ids of \(textTime.timeEmbedDim)")
            }
        }
        for channels in groupNormChannelCounts where channels % normNumGroups != 0 {
            throw invalid("norm_num_groups", "\(normNumGroups) groups do not divide a GroupNorm of \(channels) channels")
        }
        try ConfigLimits.checkFits(minimumParameterCount.flatMap { CheckedSize.product([MemoryLayout<Float>.stride, $0]) },
                                   "the weights (\(minimumParameterCount.map { "at least \($0) parameters" } ?? "too many parameters to count"))",
                                   keys: "block_out_channels, layers_per_block, transformer_layers_per_block, cross_attention_dim",
                                   path: path)
    }

    /// Checks every size against ``ConfigLimits``, before anything is computed from it.
    private func checkLimits(path: String) throws {
        try ConfigLimits.check([downBlockTypes.count], atMost: ConfigLimits.levels, key: "down_block_types", path: path)
        for (key, values) in [("block_out_channels", blockOutChannels), ("cross_attention_dim", crossAttentionDim),
                              ("in_channels", [inChannels]), ("out_channels", [outChannels]),
                              ("time_embedding_dim", [timeEmbeddingDim ?? 1]),
                              ("addition_time_embed_dim", [textTimeEmbedding?.timeEmbedDim ?? 1]),
                              ("projection_class_embeddings_input_dim", [textTimeEmbedding?.projectionInputDim ?? 1])] {
            try ConfigLimits.check(values, atMost: ConfigLimits.channels, key: key, path: path)
        }
        for (key, values) in [("layers_per_block", layersPerBlock), ("transformer_layers_per_block", transformerLayersPerBlock)] {
            try ConfigLimits.check(values, atMost: ConfigLimits.layers, key: key, path: path)
        }
        for (key, value) in [("conv_in_kernel", convInKernel), ("conv_out_kernel", convOutKernel), ("downsample_padding", downsamplePadding)] {
            try ConfigLimits.check([value], atMost: ConfigLimits.kernel, key: key, path: path)
        }
        if let sampleSize {
            guard sampleSize >= 1 else { throw ConfigError.invalid(path: path, key: "sample_size", reason: "must be positive, got \(sampleSize)") }
            try ConfigLimits.check([sampleSize], atMost: ConfigLimits.sampleSize, key: "sample_size", path: path)
        }
    }

    /// The channel count of every GroupNorm in the model, including the ResNets on skip-concatenated inputs, sorted.
    private var groupNormChannelCounts: [Int] {
        var counts = Set(blockOutChannels)
        let reversed = Array(blockOutChannels.reversed())
        for block in reversed.indices {
            let previous = reversed[max(block - 1, 0)]
            let output = reversed[block]
            let skipFromInput = reversed[min(block + 1, reversed.count - 1)]
            let layers = layersPerBlock.reversed()[block] + 1
            for layer in 0..<layers {
                let skip = layer == layers - 1 ? skipFromInput : output
                counts.insert((layer == 0 ? previous : output) + skip)
            }
        }
        return counts.sorted()
    }
}
