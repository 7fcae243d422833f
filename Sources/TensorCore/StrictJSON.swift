/// The package's one JSON parser (RFC 8259), written for hostile input: safetensors headers, and every JSON file
/// of a model folder (`config.json`, `scheduler_config.json`, the tokenizer's files, `model_index.json`).
///
/// Foundation's `JSONSerialization` and `JSONDecoder` silently keep one value of a duplicate key (Python's `json`,
/// which diffusers and transformers use, keeps the last: the same file would mean two different models), blur
/// integers with floats and booleans in `NSNumber`, and differ between platforms. Here objects keep their keys in
/// order and reject duplicates, integers are told apart from other numbers, nesting is limited, and every error
/// carries the byte offset where parsing stopped. Text outside strings must be ASCII, and strings must be valid
/// UTF-8 (as Rust's `from_utf8` requires of the whole header in the safetensors reference implementation).
public enum StrictJSON: Equatable, Sendable {
    case object([(key: String, value: StrictJSON)])
    case array([StrictJSON])
    case string(String)
    /// A number written without fraction or exponent that fits in an `Int`.
    case integer(Int)
    /// Any other number (kept as written, for error messages).
    case number(String)
    case bool(Bool)
    case null

    /// Why parsing stopped, and where (a byte offset into the parsed text).
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        /// What is wrong (a duplicate key is named: `duplicate key 'name'`).
        public let message: String
        /// The byte offset where parsing stopped.
        public let offset: Int

        /// The message and the offset, for error messages.
        public var description: String { "\(message) (at byte \(offset))" }
    }

    /// The deepest nesting of arrays and objects accepted (a safetensors header needs 3, a tokenizer file 4).
    public static let maximumDepth = 64

    /// Parses `bytes` (UTF-8) as one JSON value, optionally surrounded by whitespace.
    /// - Parameter allowsNonFiniteNumbers: also accept Python's `NaN`, `Infinity` and `-Infinity` (what Python's
    ///   `json` writes and reads; they become ``number(_:)`` with that text).
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, allowsNonFiniteNumbers: Bool = false) throws -> StrictJSON {
        var parser = Parser(bytes: bytes, allowsNonFiniteNumbers: allowsNonFiniteNumbers)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected characters after the JSON value") }
        return value
    }

    /// ``parse(_:allowsNonFiniteNumbers:)`` over any contiguous bytes (`Data`, `[UInt8]`).
    public static func parse<Bytes: Collection<UInt8>>(bytes: Bytes, allowsNonFiniteNumbers: Bool = false) throws -> StrictJSON {
        let parsed = try bytes.withContiguousStorageIfAvailable { try parse($0, allowsNonFiniteNumbers: allowsNonFiniteNumbers) }
        if let parsed { return parsed }
        return try Array(bytes).withUnsafeBufferPointer { try parse($0, allowsNonFiniteNumbers: allowsNonFiniteNumbers) }
    }

    /// A short description of the kind of value, for error messages ("a string", "the number 1.5").
    public var kind: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .integer(let value): return "the integer \(value)"
        case .number(let text): return "the number \(text)"
        case .bool(let value): return "\(value)"
        case .null: return "null"
        }
    }

    public static func == (lhs: StrictJSON, rhs: StrictJSON) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)): return a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        case let (.array(a), .array(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let allowsNonFiniteNumbers: Bool
    var position = 0

    func error(_ message: String) -> StrictJSON.ParseError { .init(message: message, offset: position) }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    mutating func expect(_ literal: String, _ value: StrictJSON) throws -> StrictJSON {
        for byte in literal.utf8 {
            guard current == byte else { throw error("invalid literal (expected '\(literal)')") }
            position += 1
        }
        return value
    }

    mutating func value(depth: Int) throws -> StrictJSON {
        guard depth < StrictJSON.maximumDepth else { throw error("nesting deeper than \(StrictJSON.maximumDepth) levels") }
        skipWhitespace()
        guard let byte = current else { throw error("unexpected end of the text") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "N") where allowsNonFiniteNumbers: return try expect("NaN", .number("NaN"))
        case UInt8(ascii: "I") where allowsNonFiniteNumbers: return try expect("Infinity", .number("Infinity"))
        case UInt8(ascii: "-") where allowsNonFiniteNumbers && position + 1 < bytes.count && bytes[position + 1] == UInt8(ascii: "I"):
            return try expect("-Infinity", .number("-Infinity"))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    mutating func object(depth: Int) throws -> StrictJSON {
        position += 1
        var members: [(key: String, value: StrictJSON)] = []
        var keys = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = position
            let key = try string()
            guard keys.insert(key).inserted else {
                throw StrictJSON.ParseError(message: "duplicate key '\(key)'", offset: keyOffset)
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            position += 1
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"): position += 1; return .object(members)
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    mutating func array(depth: Int) throws -> StrictJSON {
        position += 1
        var elements: [StrictJSON] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"): position += 1; return .array(elements)
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    mutating func number() throws -> StrictJSON {
        let start = position
        func digits() -> Int {
            let first = position
            while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1 }
            return position - first
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits()
        guard integerDigits > 0 else { throw error("a number needs digits") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw error("a number may not start with 0") }
        var isInteger = true
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw error("a fraction needs digits") }
            isInteger = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("an exponent needs digits") }
            isInteger = false
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        return .number(text)
    }

    mutating func string() throws -> String {
        position += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = current else { throw error("unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard isValidUTF8(utf8) else { throw error("invalid UTF-8 in a string") }
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0..<0x20:
                position -= 1
                throw error("control character in a string")
            default:
                utf8.append(byte)
            }
        }
    }

    func isValidUTF8(_ utf8: [UInt8]) -> Bool {
        var (decoder, iterator) = (UTF8(), utf8.makeIterator())
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    mutating func escape(into utf8: inout [UInt8]) throws {
        guard let byte = current else { throw error("unterminated string") }
        position += 1
        let simple: [UInt8: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09]
        if let replacement = simple[byte] {
            utf8.append(replacement)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw error("invalid escape '\\\(Unicode.Scalar(byte))'") }
        var code = try hexQuad()
        if (0xD800..<0xDC00).contains(code) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard current == UInt8(ascii: "\\"), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                throw error("unpaired surrogate in \\u escape")
            }
            position += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in \\u escape") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(code) {
            throw error("unpaired surrogate in \\u escape")
        }
        guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
        utf8.append(contentsOf: String(Character(scalar)).utf8)
    }

    mutating func hexQuad() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Character(Unicode.Scalar(bytes[position])).hexDigitValue else { throw error("invalid \\u escape") }
            code = code << 4 | UInt32(digit)
            position += 1
        }
        return code
    }
}
