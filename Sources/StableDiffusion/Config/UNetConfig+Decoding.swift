import Foundation

extension UNetConfig: ConfigFile {
    /// Decodes and validates a configuration from JSON `data`; `path` names it in errors.
    ///
    /// Reads diffusers' `config.json` keys, rejecting any key or value this implementation does not support, then
    /// validates the result (``validate(path:)``).
    /// - Throws: ``ConfigError``.
    public static func decode(_ data: Data, path: String) throws -> UNetConfig {
        var reader = try ConfigReader(json: data, path: path)
        var config = UNetConfig()
        try config.read(&reader)
        try config.validate(path: path)
        return config
    }

    private mutating func read(_ reader: inout ConfigReader) throws {
        let path = reader.path
        try reader.require("_class_name", in: [.null, .string("UNet2DConditionModel")])
        try readBlockTypes(&reader)
        let blocks = downBlockTypes.count
        inChannels = try reader.int("in_channels") ?? inChannels
        outChannels = try reader.int("out_channels") ?? outChannels
        sampleSize = try reader.int("sample_size")
        centerInputSample = try reader.bool("center_input_sample") ?? centerInputSample
        flipSinToCos = try reader.bool("flip_sin_to_cos") ?? flipSinToCos
        freqShift = try reader.float("freq_shift") ?? freqShift
        if let channels = reader.value("block_out_channels") {
            guard case .array = channels else { throw reader.invalid("block_out_channels", "expected a list, got \(channels)") }
            blockOutChannels = try reader.intOrList("block_out_channels", count: blocks) ?? []
        }
        layersPerBlock = try reader.intOrList("layers_per_block", count: blocks) ?? Array(repeating: 2, count: blocks)
        downsamplePadding = try reader.int("downsample_padding") ?? downsamplePadding
        midBlockScaleFactor = try reader.float("mid_block_scale_factor") ?? midBlockScaleFactor
        guard !reader.isNull("norm_num_groups") else {
            throw ConfigError.unsupported(path: path, key: "norm_num_groups", value: "null", supported: "a positive integer")
        }
        normNumGroups = try reader.int("norm_num_groups") ?? normNumGroups
        normEps = try reader.float("norm_eps") ?? normEps
        crossAttentionDim = try reader.intOrList("cross_attention_dim", count: blocks) ?? Array(repeating: 1280, count: blocks)
        transformerLayersPerBlock = try reader.intOrList("transformer_layers_per_block", count: blocks)
            ?? Array(repeating: 1, count: blocks)
        let headDims = try reader.intOrList("attention_head_dim", count: blocks) ?? Array(repeating: 8, count: blocks)
        attentionHeads = try reader.intOrList("num_attention_heads", count: blocks) ?? headDims
        useLinearProjection = try reader.bool("use_linear_projection") ?? useLinearProjection
        upcastAttention = try reader.bool("upcast_attention") ?? upcastAttention
        resnetOutScaleFactor = try reader.float("resnet_out_scale_factor") ?? resnetOutScaleFactor
        timeEmbeddingDim = try reader.int("time_embedding_dim")
        convInKernel = try reader.int("conv_in_kernel") ?? convInKernel
        convOutKernel = try reader.int("conv_out_kernel") ?? convOutKernel
        try readAdditionEmbedding(&reader)
        try Self.requireDefaults(&reader, blocks: blocks)
        try reader.finish()
    }

    private mutating func readBlockTypes(_ reader: inout ConfigReader) throws {
        func parse<T: RawRepresentable & CaseIterable>(_ key: String, _ names: [String]) throws -> [T] where T.RawValue == String {
            try names.map { name in
                guard let type = T(rawValue: name) else {
                    throw ConfigError.unsupported(path: reader.path, key: key, value: "\"\(name)\"",
                                                  supported: T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
                }
                return type
            }
        }
        if let names = try reader.strings("down_block_types") { downBlockTypes = try parse("down_block_types", names) }
        if let names = try reader.strings("up_block_types") { upBlockTypes = try parse("up_block_types", names) }
        switch reader.value("mid_block_type") {
        case nil:
            if reader.isNull("mid_block_type") { midBlockType = nil }
        case .string(let name)?:
            midBlockType = try parse("mid_block_type", [name]).first
        case let other?:
            throw reader.invalid("mid_block_type", "expected a string or null, got \(other)")
        }
    }

    private mutating func readAdditionEmbedding(_ reader: inout ConfigReader) throws {
        try reader.require("addition_embed_type", in: [.null, .string("text_time")])
        let timeDim = try reader.int("addition_time_embed_dim")
        let inputDim = try reader.int("projection_class_embeddings_input_dim")
        reader.ignore("addition_embed_type_num_heads")  // used by addition_embed_type "text_image" only
        guard reader.value("addition_embed_type") != nil else { return }
        guard let timeDim else { throw reader.invalid("addition_time_embed_dim", "required by addition_embed_type \"text_time\"") }
        guard let inputDim else {
            throw reader.invalid("projection_class_embeddings_input_dim", "required by addition_embed_type \"text_time\"")
        }
        textTimeEmbedding = TextTimeEmbedding(timeEmbedDim: timeDim, projectionInputDim: inputDim)
    }

    /// Keys whose only supported value is diffusers' default (or a value with the same effect).
    private static func requireDefaults(_ reader: inout ConfigReader, blocks: Int) throws {
        reader.ignore("dropout")  // identity at inference
        try reader.require("act_fn", in: [.null, .string("silu"), .string("swish")])
        try reader.require("only_cross_attention", in: [.null, .bool(false), .array(Array(repeating: .bool(false), count: blocks))])
        try reader.require("mid_block_only_cross_attention", in: [.null, .bool(false)])
        try reader.require("dual_cross_attention", in: [.null, .bool(false)])
        try reader.require("class_embed_type", in: [.null])
        try reader.require("num_class_embeds", in: [.null])
        try reader.require("class_embeddings_concat", in: [.null, .bool(false)])
        try reader.require("resnet_time_scale_shift", in: [.null, .string("default")])
        try reader.require("resnet_skip_time_act", in: [.null, .bool(false)])
        try reader.require("time_embedding_type", in: [.null, .string("positional")])
        try reader.require("time_embedding_act_fn", in: [.null])
        try reader.require("timestep_post_act", in: [.null])
        try reader.require("time_cond_proj_dim", in: [.null])
        try reader.require("encoder_hid_dim", in: [.null])
        try reader.require("encoder_hid_dim_type", in: [.null])
        try reader.require("attention_type", in: [.null, .string("default")])
        try reader.require("cross_attention_norm", in: [.null])
        try reader.require("reverse_transformer_layers_per_block", in: [.null])
    }
}
