import Foundation

/// CLIP's text normalisation and word splitting, as `transformers.CLIPTokenizer` (transformers 5) configures its
/// `tokenizers` backend:
///
/// 1. normaliser: Unicode NFC, every run of whitespace (`\s+`) replaced by one space, then lower-casing one
///    scalar at a time (full mappings such as `İ` → `i̇`, no context rules such as the final sigma);
/// 2. pre-tokeniser: the words are the matches of
///    `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
///    (tried in that order at each position; unmatched text, which can only be whitespace, is dropped), then
///    the byte-level pre-tokeniser's GPT-2 pattern, which only ever splits the two special-token spellings
///    into `<|`, the name, `|>`.
///
/// The pattern is matched by hand over Unicode scalars with the standard library's general categories
/// (`\p{L}`: Lu Ll Lt Lm Lo; `\p{N}`: Nd Nl No) and White_Space property (`\s`). Checked over every code point
/// against the `tokenizers` library (Swift 6.3, Unicode 17): the classes agree once characters new in Unicode 17
/// are treated as unassigned (``regexUnicodeVersion``), and the normaliser agrees on every single code point.
/// A Swift toolchain with an older Unicode than the library's would see the newest letters as symbols.
enum CLIPPreTokenizer {
    /// The normalised text (NFC, whitespace runs to one space, lower case).
    static func normalize(_ text: String) -> String {
        var output = String.UnicodeScalarView()
        var previousWasSpace = false
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if isWhitespace(scalar) {
                if !previousWasSpace { output.append(" ") }
                previousWasSpace = true
            } else {
                output.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
                previousWasSpace = false
            }
        }
        return String(output)
    }

    /// The words of normalised text, in order (each becomes one BPE word ending in `</w>`).
    static func words(_ normalized: String) -> [String] {
        var words: [String] = []
        forEachWord(normalized) { words.append($0); return true }
        return words
    }

    /// Calls `body` with each word of normalised text, in order, until it returns false: a prompt far over the
    /// token limit is split only as far as the tokens kept.
    static func forEachWord(_ normalized: String, _ body: (String) -> Bool) {
        let scalars = Array(normalized.unicodeScalars)
        var index = 0
        var proceed = true
        func take(_ count: Int) {
            proceed = body(String(String.UnicodeScalarView(scalars[index..<index + count])))
            index += count
        }
        while proceed && index < scalars.count {
            if let name = specialTokenName(in: scalars, at: index) {
                proceed = body("<|") && body(name) && body("|>")
                index += name.unicodeScalars.count + 4
            } else if let length = contractionLength(in: scalars, at: index) {
                take(length)
            } else if isLetter(scalars[index]) {
                take(runLength(in: scalars, from: index, while: isLetter))
            } else if isNumber(scalars[index]) {
                take(1)
            } else if isWhitespace(scalars[index]) {
                index += 1
            } else {
                take(runLength(in: scalars, from: index) { !isWhitespace($0) && !isLetter($0) && !isNumber($0) })
            }
        }
    }

    /// `startoftext` or `endoftext` when `<|name|>` starts at `index`.
    private static func specialTokenName(in scalars: [Unicode.Scalar], at index: Int) -> String? {
        for name in ["startoftext", "endoftext"] where matches(scalars, at: index, "<|" + name + "|>") {
            return name
        }
        return nil
    }

    /// The length of `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll` or `'d` at `index` (tried in that order), if any.
    private static func contractionLength(in scalars: [Unicode.Scalar], at index: Int) -> Int? {
        guard scalars[index] == "'" else { return nil }
        for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] where matches(scalars, at: index + 1, suffix) {
            return 1 + suffix.unicodeScalars.count
        }
        return nil
    }

    private static func matches(_ scalars: [Unicode.Scalar], at index: Int, _ literal: String) -> Bool {
        let pattern = Array(literal.unicodeScalars)
        guard index + pattern.count <= scalars.count else { return false }
        return scalars[index..<index + pattern.count].elementsEqual(pattern)
    }

    private static func runLength(in scalars: [Unicode.Scalar], from start: Int, while belongs: (Unicode.Scalar) -> Bool) -> Int {
        var end = start
        while end < scalars.count, belongs(scalars[end]) { end += 1 }
        return end - start
    }

    /// The Unicode version of the regex engine inside `tokenizers` 0.23 (Oniguruma): characters assigned after
    /// it are unassigned there, so neither letters nor numbers.
    static let regexUnicodeVersion = (major: 16, minor: 0)

    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo, in ``regexUnicodeVersion``.
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        guard isAssignedForRegex(scalar) else { return false }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// `\p{N}`: general category Nd, Nl or No, in ``regexUnicodeVersion``.
    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        guard isAssignedForRegex(scalar) else { return false }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    private static func isAssignedForRegex(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return (age.major, age.minor) <= regexUnicodeVersion
    }

    /// `\s`: the Unicode White_Space property.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }
}
