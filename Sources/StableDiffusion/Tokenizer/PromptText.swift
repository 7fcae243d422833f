/// Turns raw prompt bytes (for example a command-line argument) into the `String` the tokenizer takes.
///
/// The tokenizer's API takes `String`, which is always valid Unicode. Bytes that are not valid UTF-8 are
/// rejected here rather than silently replaced with U+FFFD, so a user learns that the prompt is not what they
/// typed; the CLI reads its arguments' raw bytes and calls this.
public enum PromptText {
    /// The bytes as a string.
    /// - Parameter source: how the error names the bytes (for example `--prompt`).
    /// - Throws: ``TokenizerError/invalidUTF8(source:byteOffset:)`` at the first byte that is not valid UTF-8.
    public static func decode(_ bytes: [UInt8], source: String) throws -> String {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        var text = String.UnicodeScalarView()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                text.append(scalar)
                offset += UTF8.width(scalar)
            case .emptyInput:
                return String(text)
            case .error:
                throw TokenizerError.invalidUTF8(source: source, byteOffset: offset)
            }
        }
    }
}
