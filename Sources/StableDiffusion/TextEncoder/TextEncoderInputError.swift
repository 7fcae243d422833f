/// Token ids the text encoder cannot encode: names what is wrong.
public struct TextEncoderInputError: Error, Equatable, CustomStringConvertible {
    /// What is wrong with the ids.
    public let reason: String

    /// An error saying `reason`.
    public init(_ reason: String) { self.reason = reason }

    /// "text encoder input: reason".
    public var description: String { "text encoder input: \(reason)" }
}
