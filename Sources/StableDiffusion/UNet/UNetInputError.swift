/// An input to a UNet call with the wrong rank, shape or count: names the input and what is wrong.
public struct UNetInputError: Error, Equatable, CustomStringConvertible {
    /// The input's name as diffusers calls it (`sample`, `timestep`, `encoder_hidden_states`, `text_embeds`,
    /// `time_ids`).
    public let input: String
    /// What is wrong with it.
    public let reason: String

    /// An error about `input`.
    public init(input: String, reason: String) {
        self.input = input
        self.reason = reason
    }

    /// "UNet input 'name': reason".
    public var description: String { "UNet input '\(input)': \(reason)" }
}
