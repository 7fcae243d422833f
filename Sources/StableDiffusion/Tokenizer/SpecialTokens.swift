/// Which tokens frame, pad and stand in for unknown input, and which strings are matched whole.
public struct SpecialTokens: Equatable, Sendable {
    /// Start of text, prepended to every prompt.
    public var start: AddedToken
    /// End of text, appended to every prompt.
    public var end: AddedToken
    /// Stand-in for a byte the vocabulary lacks.
    public var unknown: AddedToken
    /// Fills the sequence after the end token (SD 1: `<|endoftext|>`; SD 2: `!`).
    public var padding: AddedToken
    /// Further tokens matched whole (a tokenizer file's `added_tokens`). They are registered before the four
    /// above, so a special token with the same content decides where it is matched.
    public var additional: [AddedToken]

    /// Special tokens from their parts.
    public init(start: AddedToken, end: AddedToken, unknown: AddedToken, padding: AddedToken, additional: [AddedToken] = []) {
        self.start = start
        self.end = end
        self.unknown = unknown
        self.padding = padding
        self.additional = additional
    }

    /// CLIP's defaults: `<|startoftext|>`, then `<|endoftext|>` as end, unknown and padding.
    public static let clip = SpecialTokens(start: AddedToken("<|startoftext|>"), end: AddedToken("<|endoftext|>"),
                                           unknown: AddedToken("<|endoftext|>"), padding: AddedToken("<|endoftext|>"))

    /// The tokens matched whole, one per content, with the flags transformers ends up with: the files' added
    /// tokens first, then start, end, unknown, padding, each later registration of the same content replacing
    /// the earlier one's flags (the `tokenizers` library updates a token that is added again).
    var matchedWhole: [AddedToken] {
        var byContent: [String: AddedToken] = [:]
        var order: [String] = []
        for token in additional + [start, end, unknown, padding] {
            if byContent[token.content] == nil { order.append(token.content) }
            byContent[token.content] = token
        }
        return order.compactMap { byContent[$0] }
    }
}
