import Foundation
import StableDiffusion
import XCTest

/// Decoding diffusers' `config.json`: the fixtures' values, the head-count quirk, int-or-list fields, and a typed
/// error naming the key for everything unknown, unsupported or inconsistent.
final class UNetConfigTests: XCTestCase {
    func testFixtureConfigsDecode() throws {
        let sd1 = try UNetConfig.load(from: UNetFixtures.url("unet-sd1/config.json"))
        XCTAssertEqual(sd1.downBlockTypes, [.crossAttention, .crossAttention, .plain])
        XCTAssertEqual(sd1.upBlockTypes, [.plain, .crossAttention, .crossAttention])
        XCTAssertEqual(sd1.blockOutChannels, [8, 16, 16])
        XCTAssertEqual(sd1.attentionHeads, [2, 2, 2])
        XCTAssertEqual(sd1.crossAttentionDim, [12, 12, 12])
        XCTAssertFalse(sd1.useLinearProjection)
        XCTAssertNil(sd1.textTimeEmbedding)

        let sd2 = try UNetConfig.load(from: UNetFixtures.url("unet-sd2/config.json"))
        XCTAssertEqual(sd2.attentionHeads, [1, 2, 4])
        XCTAssertTrue(sd2.useLinearProjection)
        XCTAssertTrue(sd2.upcastAttention)
        XCTAssertFalse(sd2.flipSinToCos)
        XCTAssertEqual(sd2.freqShift, 1)

        let sdxl = try UNetConfig.load(from: UNetFixtures.url("unet-sdxl/config.json"))
        XCTAssertEqual(sdxl.transformerLayersPerBlock, [1, 2])
        XCTAssertEqual(sdxl.textTimeEmbedding, UNetConfig.TextTimeEmbedding(timeEmbedDim: 8, projectionInputDim: 60))
    }

    func testDefaultsAreDiffusersAndSD15Validates() throws {
        try UNetConfig().validate()
        let sd15 = UNetConfig.stableDiffusion15
        try sd15.validate()
        XCTAssertEqual(sd15.crossAttentionDim, [768, 768, 768, 768])
        XCTAssertEqual(try decode([:]), UNetConfig(), "an empty config.json means diffusers' defaults")
    }

    func testNumAttentionHeadsOverridesTheMisnamedAttentionHeadDim() throws {
        XCTAssertEqual(try decode(["attention_head_dim": 4]).attentionHeads, [4, 4, 4])
        XCTAssertEqual(try decode(["attention_head_dim": 4, "num_attention_heads": [1, 2, 2]]).attentionHeads, [1, 2, 2])
    }

    func testIntOrListFieldsExpandPerBlock() throws {
        let config = try decode(["layers_per_block": [1, 2, 1], "transformer_layers_per_block": 3, "cross_attention_dim": [12, 12, 12]])
        XCTAssertEqual(config.layersPerBlock, [1, 2, 1])
        XCTAssertEqual(config.transformerLayersPerBlock, [3, 3, 3])
        assertConfigError(["layers_per_block": [1, 2]],
                          .invalid(path: "test.json", key: "layers_per_block", reason: "has 2 values, but there are 3 down blocks"))
        assertConfigError(["transformer_layers_per_block": [[1, 2], [1, 2], [1, 2]]],
                          .invalid(path: "test.json", key: "transformer_layers_per_block", reason: "expected an integer, got [1, 2]"))
    }

    func testUnknownKeysAndUnsupportedValuesAreNamed() {
        assertConfigError(["brand_new_option": true], .unknownKey(path: "test.json", key: "brand_new_option"))
        assertConfigError(["down_block_types": ["AttnDownBlock2D", "DownBlock2D", "DownBlock2D"]],
                          .unsupported(path: "test.json", key: "down_block_types", value: "\"AttnDownBlock2D\"",
                                       supported: "\"CrossAttnDownBlock2D\", \"DownBlock2D\""))
        assertConfigError(["mid_block_type": "UNetMidBlock2D"],
                          .unsupported(path: "test.json", key: "mid_block_type", value: "\"UNetMidBlock2D\"",
                                       supported: "\"UNetMidBlock2DCrossAttn\""))
        assertConfigError(["class_embed_type": "timestep"],
                          .unsupported(path: "test.json", key: "class_embed_type", value: "\"timestep\"", supported: "null"))
        assertConfigError(["addition_embed_type": "text_image"],
                          .unsupported(path: "test.json", key: "addition_embed_type", value: "\"text_image\"",
                                       supported: "null, \"text_time\""))
        assertConfigError(["act_fn": "gelu"],
                          .unsupported(path: "test.json", key: "act_fn", value: "\"gelu\"", supported: "null, \"silu\", \"swish\""))
        assertConfigError(["only_cross_attention": true],
                          .unsupported(path: "test.json", key: "only_cross_attention", value: "true",
                                       supported: "null, false, [false, false, false]"))
        assertConfigError(["_class_name": "UNet2DModel"],
                          .unsupported(path: "test.json", key: "_class_name", value: "\"UNet2DModel\"", supported: "null, \"UNet2DConditionModel\""))
    }

    func testInconsistentValuesAreNamed() {
        assertConfigError(["norm_num_groups": 3],
                          .invalid(path: "test.json", key: "norm_num_groups", reason: "3 groups do not divide a GroupNorm of 8 channels"))
        assertConfigError(["norm_num_groups": 16], .invalid(path: "test.json", key: "norm_num_groups",
                                                            reason: "16 groups do not divide a GroupNorm of 8 channels"))
        assertConfigError(["up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"]],
                          .invalid(path: "test.json", key: "up_block_types", reason: "has 2 blocks, down_block_types has 3"))
        assertConfigError(["attention_head_dim": 9], .invalid(path: "test.json", key: "attention_head_dim",
                                                              reason: "9 heads for the 8 channels of block 0"))
        assertConfigError(["conv_in_kernel": 2], .invalid(path: "test.json", key: "conv_in_kernel", reason: "must be a positive odd number, got 2"))
        assertConfigError(["block_out_channels": 8], .invalid(path: "test.json", key: "block_out_channels", reason: "expected a list, got 8"))
        assertConfigError(["in_channels": 4.5], .invalid(path: "test.json", key: "in_channels", reason: "expected an integer, got 4.5"))
        assertConfigError(["addition_embed_type": "text_time"],
                          .invalid(path: "test.json", key: "addition_time_embed_dim", reason: "required by addition_embed_type \"text_time\""))
    }

    func testUnreadableFilesAreNamed() throws {
        XCTAssertThrowsError(try UNetConfig.decode(Data("[1, 2]".utf8), path: "list.json")) { error in
            guard case .unreadable(let path, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "list.json")
        }
        XCTAssertThrowsError(try UNetConfig.load(from: URL(fileURLWithPath: "/nonexistent/config.json"))) { error in
            guard case .unreadable(let path, _)? = error as? ConfigError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "/nonexistent/config.json")
        }
    }

    /// The SD1 fixture's config.json with `changes` applied (an empty dictionary for `[:]` alone means no file keys).
    private func json(_ changes: [String: Any]) throws -> Data {
        if changes.isEmpty { return Data("{}".utf8) }
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: UNetFixtures.url("unet-sd1/config.json")))
        var object = try XCTUnwrap(base as? [String: Any])
        for (key, value) in changes { object[key] = value }
        return try JSONSerialization.data(withJSONObject: object)
    }

    private func decode(_ changes: [String: Any]) throws -> UNetConfig {
        try UNetConfig.decode(json(changes), path: "test.json")
    }

    private func assertConfigError(_ changes: [String: Any], _ expected: ConfigError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(changes), file: file, line: line) { error in
            XCTAssertEqual(error as? ConfigError, expected, file: file, line: line)
        }
    }
}
