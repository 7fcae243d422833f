/// A token matched as a whole in the prompt text before BPE (CLIP's `<|startoftext|>`, `<|endoftext|>`, and
/// whatever a tokenizer's files declare, such as SD 2's padding token `!`).
public struct AddedToken: Equatable, Sendable {
    /// The exact text that is matched.
    public var content: String
    /// Whether it is matched in the normalised (NFC, lower-cased) text rather than the raw prompt.
    public var normalized: Bool

    /// A token matched on the raw prompt unless `normalized` is true.
    public init(_ content: String, normalized: Bool = false) {
        self.content = content
        self.normalized = normalized
    }
}
