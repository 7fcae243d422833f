import Foundation
import ImageFiles
import TensorCore

extension CLIPTokenizer {
    /// Loads a diffusers model folder's `tokenizer/` folder (pass that folder): `tokenizer.json` when present
    /// (what transformers 5 writes), otherwise `vocab.json` + `merges.txt` (what the published Stable Diffusion
    /// repositories ship), with the special tokens and length of `tokenizer_config.json` and
    /// `special_tokens_map.json` when present (see ``TokenizerSettings``).
    /// - Throws: ``TokenizerError`` naming the folder or file.
    public init(folder: URL) throws {
        let path = { (name: String) in folder.appendingPathComponent(name) }
        let exists = { (name: String) in FileManager.default.fileExists(atPath: path(name).path) }
        var vocabulary: [String: Int]
        let merges: [(String, String)]
        var fileAddedTokens: [AddedToken] = []
        if exists("tokenizer.json") {
            let model = try Self.parseTokenizerJSON(try Self.read(path("tokenizer.json")), source: path("tokenizer.json").path)
            (vocabulary, merges) = (model.vocabulary, model.merges)
            for (token, id) in model.addedTokens where vocabulary[token.content] == nil { vocabulary[token.content] = id }
            fileAddedTokens = model.addedTokens.map(\.token)
        } else if exists("vocab.json") && exists("merges.txt") {
            vocabulary = try Self.parseVocabulary(try Self.read(path("vocab.json")), source: path("vocab.json").path)
            let text = String(decoding: try Self.read(path("merges.txt")), as: UTF8.self)
            merges = try Self.parseMerges(text, source: path("merges.txt").path)
        } else {
            var isDirectory: ObjCBool = false
            let reason = FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) && isDirectory.boolValue
                ? "has neither tokenizer.json nor vocab.json + merges.txt" : "is not a folder"
            throw TokenizerError.missingFiles(folder: folder.path, reason: reason)
        }
        let settings = try TokenizerSettings(
            tokenizerConfig: exists("tokenizer_config.json") ? try Self.read(path("tokenizer_config.json")) : nil,
            specialTokensMap: exists("special_tokens_map.json") ? try Self.read(path("special_tokens_map.json")) : nil,
            fileAddedTokens: fileAddedTokens, folder: folder.path)
        try self.init(vocabulary: vocabulary, merges: merges, specialTokens: settings.specialTokens,
                      maxLength: settings.maxLength, source: folder.path)
    }

    /// A tokenizer with CLIP's own vocabulary built from its merge list (``clipVocabulary(merges:)``), CLIP's special
    /// tokens and 77 tokens per prompt: what `open_clip`'s `bpe_simple_vocab_16e6.txt.gz` (first 48 894 merges)
    /// and an SD 1 `tokenizer/` folder both describe.
    public init(clipMerges merges: [(String, String)]) throws {
        try self.init(vocabulary: Self.clipVocabulary(merges: merges), merges: merges, source: "CLIP merges")
    }

    /// ``init(clipMerges:)`` from a gzip file of the merge list in `merges.txt` format (open_clip's
    /// `bpe_simple_vocab_16e6.txt.gz` cut to its first 48 894 merges: about 200 KB, small enough to embed).
    /// - Throws: ``TokenizerError/malformed(source:reason:)`` naming `source` for bad gzip data or lines.
    public init(gzippedCLIPMerges data: [UInt8], source: String = "CLIP merges") throws {
        let text: [UInt8]
        do {
            text = try Decompression.gzip(data)
        } catch {
            throw TokenizerError.malformed(source: source, reason: "\(error)")
        }
        try self.init(clipMerges: try Self.parseMerges(String(decoding: text, as: UTF8.self), source: source))
    }

    /// CLIP's vocabulary as its tokenizer builds it from the merges: the 256 byte symbols, the same with `</w>`,
    /// one token per merge (the two sides joined), then `<|startoftext|>` and `<|endoftext|>`.
    public static func clipVocabulary(merges: [(String, String)]) -> [String: Int] {
        let bytes = BytePairEncoding.byteOrder.map { String(BytePairEncoding.byteToScalar[Int($0)]) }
        let tokens = bytes + bytes.map { $0 + BytePairEncoding.endOfWord } + merges.map { $0.0 + $0.1 }
            + ["<|startoftext|>", "<|endoftext|>"]
        var vocabulary: [String: Int] = [:]
        for (id, token) in tokens.enumerated() where vocabulary[token] == nil { vocabulary[token] = id }
        return vocabulary
    }

    /// Parses `merges.txt`: one merge per line as two tokens separated by a space; lines starting with
    /// `#version` are skipped, as is the empty string after a final newline.
    /// - Throws: ``TokenizerError/malformed(source:reason:)`` naming the line.
    public static func parseMerges(_ text: String, source: String) throws -> [(String, String)] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var merges: [(String, String)] = []
        merges.reserveCapacity(lines.count)
        for (index, rawLine) in lines.enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformed(source: source, reason: "line \(index + 1) is not two tokens separated by one space: \(String(line).debugDescription)")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// Parses `vocab.json`: an object mapping each token to its id.
    /// - Throws: ``TokenizerError/malformed(source:reason:)`` (a duplicate token included, naming it).
    public static func parseVocabulary(_ data: Data, source: String) throws -> [String: Int] {
        try vocabulary(try JSONValue.parse(data, source: source), field: "the file", source: source)
    }

    /// The BPE model of a `tokenizers` `tokenizer.json`: `model.vocab`, `model.merges` (as `"a b"` strings or
    /// `["a", "b"]` pairs) and `added_tokens`. Its normaliser and pre-tokeniser are not read: transformers'
    /// `CLIPTokenizer` always uses CLIP's own.
    /// - Throws: ``TokenizerError/malformed(source:reason:)`` naming the field (or the duplicate key).
    public static func parseTokenizerJSON(_ data: Data, source: String) throws
        -> (vocabulary: [String: Int], merges: [(String, String)], addedTokens: [(token: AddedToken, id: Int)]) {
        let malformed = { (reason: String) in TokenizerError.malformed(source: source, reason: reason) }
        let file = try JSONValue.parse(data, source: source)
        guard let model = file["model"], case .object = model else { throw malformed("not a tokenizer.json with a BPE model (no \"model\" object)") }
        if let type = model["type"], type != .null {
            guard type.string == "BPE" else { throw malformed("model.type is \(type), a CLIP tokenizer needs BPE") }
        }
        guard let vocab = model["vocab"] else { throw malformed("model.vocab is missing") }
        let vocabulary = try Self.vocabulary(vocab, field: "model.vocab", source: source)
        guard let entries = model["merges"]?.array else { throw malformed("model.merges is not a list") }
        let merges = try entries.enumerated().map { index, entry -> (String, String) in
            let parts = entry.array.map { $0.compactMap(\.string) }
                ?? entry.string.map { $0.split(separator: " ", omittingEmptySubsequences: false).map(String.init) } ?? []
            guard parts.count == 2, entry.array?.count ?? 2 == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw malformed("model.merges[\(index)] is not two tokens")
            }
            return (parts[0], parts[1])
        }
        var added: [(token: AddedToken, id: Int)] = []
        if let list = file["added_tokens"], list != .null {
            guard let items = list.array else { throw malformed("added_tokens is not a list") }
            for (index, item) in items.enumerated() {
                guard let id = item["id"]?.integer, let content = item["content"]?.string else {
                    throw malformed("added_tokens[\(index)] needs an integer \"id\" and a string \"content\"")
                }
                let special = item["special"]?.bool ?? false
                added.append((AddedToken(content, normalized: item["normalized"]?.bool ?? !special), id))
            }
        }
        return (vocabulary, merges, added)
    }

    /// A token → id object (`vocab.json`, `model.vocab`).
    private static func vocabulary(_ value: JSONValue, field: String, source: String) throws -> [String: Int] {
        guard case .object(let members) = value else {
            throw TokenizerError.malformed(source: source, reason: "\(field) is not a JSON object of token ids")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(members.count)
        for (token, id) in members {
            guard let id = id.integer else {
                throw TokenizerError.malformed(source: source, reason: "\(field): the id of \(token.debugDescription) is \(id), not an integer")
            }
            vocabulary[token] = id
        }
        return vocabulary
    }

    private static func read(_ url: URL) throws -> Data {
        do {
            return try RegularFile.contents(atPath: url.path)
        } catch let error as FileReadError {
            throw TokenizerError.unreadable(path: url.path, reason: error.reason)
        }
    }
}
