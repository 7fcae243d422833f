import Foundation

/// The special tokens and prompt length a `tokenizer/` folder's JSON files declare, resolved the way
/// transformers 5 resolves them for `CLIPTokenizer`:
///
/// - `bos_token`, `eos_token`, `unk_token`, `pad_token` come from `tokenizer_config.json`; when that file has no
///   `added_tokens_decoder` (older files), `special_tokens_map.json` overrides them. A missing or null entry
///   keeps CLIP's default. A string entry is matched on the raw text; an object entry
///   (`{"content": …, "normalized": …}`) says where it is matched (`normalized` defaults to true in
///   `tokenizer_config.json` objects, false in `special_tokens_map.json` ones, as `AddedToken` does).
/// - Added tokens come from `tokenizer_config.json`'s `added_tokens_decoder`, or else from `tokenizer.json`'s
///   `added_tokens`; a special token with the same content takes that added token's flags.
/// - `model_max_length` gives the prompt length; absent, or transformers' "unset" sentinel (anything over a
///   million, such as 1e30), it is 77, CLIP's context length.
///
/// This is what makes SD 2's `special_tokens_map.json` (`"pad_token": "!"`) pad with id 0, and also makes `!`
/// in an SD 2 prompt the padding token rather than the BPE token `!</w>`, exactly as transformers does.
public struct TokenizerSettings: Equatable, Sendable {
    /// The resolved special and added tokens.
    public var specialTokens: SpecialTokens
    /// Tokens per encoded prompt.
    public var maxLength: Int

    /// Resolves the settings from the two optional JSON files and the added tokens of `tokenizer.json`.
    /// - Throws: ``TokenizerError/malformed(source:reason:)`` naming the file and the field.
    public init(tokenizerConfig: Data?, specialTokensMap: Data?, fileAddedTokens: [AddedToken], folder: String) throws {
        let configPath = folder + "/tokenizer_config.json", mapPath = folder + "/special_tokens_map.json"
        let config = try tokenizerConfig.map { try JSONValue.parse($0, source: configPath) } ?? .object([:])
        var additional = fileAddedTokens
        var entries: [String: (value: JSONValue, fromMap: Bool)] = [:]
        let keys = ["bos_token", "eos_token", "unk_token", "pad_token"]
        for key in keys { if let value = config[key] { entries[key] = (value, false) } }
        if let decoder = config["added_tokens_decoder"] {
            additional = try Self.addedTokens(decoder, source: configPath)
        } else if let mapData = specialTokensMap {
            let map = try JSONValue.parse(mapData, source: mapPath)
            for key in keys { if let value = map[key] { entries[key] = (value, true) } }
        }
        func resolve(_ key: String, default defaultToken: AddedToken) throws -> AddedToken {
            guard let (value, fromMap) = entries[key] else { return defaultToken }
            let token = try Self.token(value, specialByDefault: fromMap, source: (fromMap ? mapPath : configPath) + " \(key)")
                ?? defaultToken
            return additional.last { $0.content == token.content } ?? token
        }
        let clip = SpecialTokens.clip
        specialTokens = SpecialTokens(start: try resolve("bos_token", default: clip.start),
                                      end: try resolve("eos_token", default: clip.end),
                                      unknown: try resolve("unk_token", default: clip.unknown),
                                      padding: try resolve("pad_token", default: clip.padding),
                                      additional: additional)
        maxLength = 77
        if case .number(let length)? = config["model_max_length"], length <= 1_000_000 {
            guard length >= 2, length == length.rounded() else {
                throw TokenizerError.malformed(source: configPath, reason: "model_max_length \(length) is not an integer of at least 2")
            }
            maxLength = Int(length)
        }
    }

    /// A special-token entry: a string, an object with `content`, or null (nil: use the default).
    private static func token(_ value: JSONValue, specialByDefault: Bool, source: String) throws -> AddedToken? {
        switch value {
        case .null: return nil
        case .string(let content): return AddedToken(content)
        case .object:
            guard let content = value["content"]?.string else {
                throw TokenizerError.malformed(source: source, reason: "token object has no string \"content\"")
            }
            let special = value["special"]?.bool ?? specialByDefault
            return AddedToken(content, normalized: value["normalized"]?.bool ?? !special)
        default:
            throw TokenizerError.malformed(source: source, reason: "expected a string or a token object")
        }
    }

    /// `added_tokens_decoder`: id → token object, in id order.
    private static func addedTokens(_ decoder: JSONValue, source: String) throws -> [AddedToken] {
        guard case .object(let members) = decoder else {
            throw TokenizerError.malformed(source: source, reason: "added_tokens_decoder is not an object")
        }
        return try members.map { key, value -> (Int, AddedToken) in
            guard let id = Int(key) else { throw TokenizerError.malformed(source: source, reason: "added_tokens_decoder key \(key.debugDescription) is not an id") }
            guard let token = try token(value, specialByDefault: false, source: source + " added_tokens_decoder[\(key)]") else {
                throw TokenizerError.malformed(source: source, reason: "added_tokens_decoder[\(key)] is null")
            }
            return (id, token)
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
