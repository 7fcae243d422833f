import Foundation

/// The CLIP byte-level BPE tokenizer of Stable Diffusion's text encoders, producing the same token ids as
/// `transformers.CLIPTokenizer` (transformers 5) called the way diffusers calls it
/// (`padding="max_length", max_length=model_max_length, truncation=True`).
///
/// Encoding a prompt:
/// 1. tokens matched whole (``SpecialTokens``) are cut out: those with `normalized == false` in the raw text,
///    the others in each remaining piece after normalisation (leftmost, longest match first);
/// 2. the rest is normalised and split into words (``CLIPPreTokenizer``), each word byte-level BPE encoded
///    (``BytePairEncoding``);
/// 3. the ids are framed as `[start] + ids.prefix(maxLength - 2) + [end]` and padded to `maxLength`.
///
/// Load one from a model folder with ``init(folder:)``; from memory with
/// ``init(vocabulary:merges:specialTokens:maxLength:source:)`` and the parsers ``parseVocabulary(_:source:)``,
/// ``parseMerges(_:source:)``, ``parseTokenizerJSON(_:source:)`` and ``TokenizerSettings``; or from CLIP's merge
/// list alone with ``init(clipMerges:)`` / ``init(gzippedCLIPMerges:source:)``.
public struct CLIPTokenizer: Sendable {
    /// The length of every encoded prompt (77 for Stable Diffusion's text encoders).
    public let maxLength: Int
    /// The id prepended to every prompt.
    public let startTokenID: Int
    /// The id appended to every prompt.
    public let endTokenID: Int
    /// The id filling the sequence after the end token.
    public let padTokenID: Int
    private let unknownTokenID: Int
    private let vocabulary: [String: Int]
    private let tokensByID: [Int: String]
    private let encoding: BytePairEncoding
    /// Tokens matched on the raw text, and on the normalised text.
    private let rawMatches: [(bytes: [UInt8], id: Int)]
    private let normalizedMatches: [(bytes: [UInt8], id: Int)]

    /// A tokenizer from a vocabulary (token → id) and merge rules in priority order.
    /// - Parameter source: how errors name where the data came from.
    /// - Throws: ``TokenizerError/malformed(source:reason:)`` when a merge uses or makes a token missing from
    ///   the vocabulary, a special token is not in the vocabulary, an id is negative, or `maxLength < 2`.
    public init(vocabulary: [String: Int], merges: [(String, String)], specialTokens: SpecialTokens = .clip,
                maxLength: Int = 77, source: String = "tokenizer") throws {
        let malformed = { (reason: String) in TokenizerError.malformed(source: source, reason: reason) }
        guard maxLength >= 2 else { throw malformed("maximum length \(maxLength) leaves no room for the start and end tokens") }
        if let (token, id) = vocabulary.first(where: { $0.value < 0 }) { throw malformed("token \(token.debugDescription) has negative id \(id)") }
        for (index, (left, right)) in merges.enumerated() {
            for token in [left, right, left + right] where vocabulary[token] == nil {
                throw malformed("merge \(index + 1) (\(left) \(right)) uses \(token.debugDescription), which is not in the vocabulary")
            }
        }
        func id(_ token: AddedToken, _ role: String) throws -> Int {
            guard let id = vocabulary[token.content] else { throw malformed("\(role) token \(token.content.debugDescription) is not in the vocabulary") }
            return id
        }
        startTokenID = try id(specialTokens.start, "start")
        endTokenID = try id(specialTokens.end, "end")
        unknownTokenID = try id(specialTokens.unknown, "unknown")
        padTokenID = try id(specialTokens.padding, "padding")
        let whole = try specialTokens.matchedWhole.map { (token: $0, id: try id($0, "added")) }
        rawMatches = whole.filter { !$0.token.normalized }.map { (Array($0.token.content.utf8), $0.id) }
        normalizedMatches = whole.filter { $0.token.normalized }.map { (Array($0.token.content.utf8), $0.id) }
        self.vocabulary = vocabulary
        self.tokensByID = Dictionary(vocabulary.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        self.encoding = BytePairEncoding(merges: merges.map { BytePairEncoding.Pair(left: $0.0, right: $0.1) })
        self.maxLength = maxLength
    }

    /// The prompt's token ids, framed and padded to ``maxLength``, and the start of what was cut off.
    ///
    /// The text is tokenised only as far as needed: words stop being split and encoded once the kept tokens and
    /// ``TokenizedPrompt/truncatedIDs`` are complete, so a prompt of any length costs about as much as one at the
    /// limit, with the same ids.
    public func encode(_ prompt: String) -> TokenizedPrompt {
        let keptCount = maxLength - 2
        let content = tokenIDs(prompt, limit: keptCount + maxLength + 1)
        var ids = [startTokenID] + content.prefix(keptCount) + [endTokenID]
        ids += repeatElement(padTokenID, count: maxLength - ids.count)
        let truncated = content.dropFirst(keptCount)
        return TokenizedPrompt(ids: ids, truncatedIDs: Array(truncated.prefix(maxLength)),
                               truncatedMore: truncated.count > maxLength)
    }

    /// The ids of the text alone: no start, end or padding tokens, no truncation.
    public func tokenIDs(_ text: String) -> [Int] {
        tokenIDs(text, limit: .max)
    }

    /// The ids of the text alone, stopping after the word that brings them to `limit` or more.
    func tokenIDs(_ text: String, limit: Int) -> [Int] {
        var ids: [Int] = []
        for piece in Self.split(Array(text.utf8), on: rawMatches) where ids.count < limit {
            switch piece {
            case .token(let id): ids.append(id)
            case .text(let bytes):
                let normalized = CLIPPreTokenizer.normalize(String(decoding: bytes, as: UTF8.self))
                for inner in Self.split(Array(normalized.utf8), on: normalizedMatches) where ids.count < limit {
                    switch inner {
                    case .token(let id): ids.append(id)
                    case .text(let bytes): appendBytePairIDs(String(decoding: bytes, as: UTF8.self), to: &ids, limit: limit)
                    }
                }
            }
        }
        return ids
    }

    /// The text of what `encoded` cut off (its start followed by "…" when even more was cut), or nil when nothing.
    public func truncatedText(_ encoded: TokenizedPrompt) -> String? {
        guard !encoded.truncatedIDs.isEmpty else { return nil }
        return decode(encoded.truncatedIDs) + (encoded.truncatedMore ? "…" : "")
    }

    /// Text for ids, as `tokenizer.decode` does: tokens joined, bytes restored, `</w>` read as a space, trimmed.
    /// Ids outside the vocabulary are skipped; byte sequences that are not UTF-8 become U+FFFD.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for token in ids.compactMap({ tokensByID[$0] }) {
            for scalar in token.unicodeScalars {
                if let byte = BytePairEncoding.scalarToByte[scalar] { bytes.append(byte) } else { bytes += Array(String(scalar).utf8) }
            }
        }
        // Replace the marker on bytes: as text, `>` and a following combining mark would form one character.
        let marker = Array(BytePairEncoding.endOfWord.utf8)
        var spaced: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index...].starts(with: marker) {
                spaced.append(UInt8(ascii: " "))
                index += marker.count
            } else {
                spaced.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: spaced, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Appends the BPE ids of normalised text with no whole-matched tokens in it, word by word, until `ids` holds
    /// `limit` or more.
    private func appendBytePairIDs(_ normalized: String, to ids: inout [Int], limit: Int) {
        CLIPPreTokenizer.forEachWord(normalized) { word in
            ids += encoding.symbols(of: word).map { vocabulary[$0] ?? unknownTokenID }
            return ids.count < limit
        }
    }

    /// A piece of text between whole-matched tokens, or one such token.
    private enum Piece {
        case text([UInt8])
        case token(Int)
    }

    /// Splits UTF-8 text at the leftmost, longest occurrences of `tokens`.
    private static func split(_ text: [UInt8], on tokens: [(bytes: [UInt8], id: Int)]) -> [Piece] {
        guard !tokens.isEmpty else { return text.isEmpty ? [] : [.text(text)] }
        var pieces: [Piece] = []
        var textStart = 0, index = 0
        while index < text.count {
            var match: (bytes: [UInt8], id: Int)?
            for token in tokens where token.bytes.first == text[index] && token.bytes.count > match?.bytes.count ?? 0
                && text[index...].starts(with: token.bytes) {
                match = token
            }
            if let match {
                if textStart < index { pieces.append(.text(Array(text[textStart..<index]))) }
                pieces.append(.token(match.id))
                index += match.bytes.count
                textStart = index
            } else {
                index += 1
            }
        }
        if textStart < text.count { pieces.append(.text(Array(text[textStart...]))) }
        return pieces
    }
}

/// One encoded prompt.
public struct TokenizedPrompt: Equatable, Sendable {
    /// Exactly ``CLIPTokenizer/maxLength`` ids: start, the prompt's tokens, end, padding.
    public let ids: [Int]
    /// The first tokens of the prompt that did not fit, at most ``CLIPTokenizer/maxLength`` of them (empty unless
    /// the prompt was too long); diffusers logs their text.
    public let truncatedIDs: [Int]
    /// Whether more tokens were cut off than ``truncatedIDs`` holds.
    public let truncatedMore: Bool
}
