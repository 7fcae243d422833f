/// A strict JSON parser for safetensors headers (RFC 8259), written for hostile input.
///
/// Foundation's `JSONSerialization` cannot report duplicate keys, blurs integers with floats and booleans in
/// `NSNumber`, and differs between platforms; this parser does exactly what the header needs and no more: objects
/// keep their keys in order and reject duplicates, integers are told apart from other numbers, nesting is limited,
/// and every error carries the byte offset where parsing stopped. Text outside strings must be ASCII, and strings
/// must be valid UTF-8 (as Rust's `from_utf8` requires of the whole header in the reference implementation).
enum SafeTensorsJSON: Equatable {
    case object([(key: String, value: SafeTensorsJSON)])
    case array([SafeTensorsJSON])
    case string(String)
    /// A number written without fraction or exponent that fits in an `Int`.
    case integer(Int)
    /// Any other number (kept as written, for error messages).
    case number(String)
    case bool(Bool)
    case null

    /// Why parsing stopped, and where (a byte offset into the parsed text).
    struct ParseError: Error, Equatable {
        let message: String
        let offset: Int
    }

    /// The deepest nesting of arrays and objects accepted (a header needs 3).
    static let maximumDepth = 64

    /// Parses `bytes` (UTF-8) as one JSON value, optionally surrounded by whitespace.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> SafeTensorsJSON {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected characters after the JSON value") }
        return value
    }

    /// A short description of the kind of value, for error messages ("a string", "the number 1.5").
    var kind: String {
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

    static func == (lhs: SafeTensorsJSON, rhs: SafeTensorsJSON) -> Bool {
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
    var position = 0

    func error(_ message: String) -> SafeTensorsJSON.ParseError { .init(message: message, offset: position) }

    var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    mutating func expect(_ literal: String, _ value: SafeTensorsJSON) throws -> SafeTensorsJSON {
        for byte in literal.utf8 {
            guard current == byte else { throw error("invalid literal (expected '\(literal)')") }
            position += 1
        }
        return value
    }

    mutating func value(depth: Int) throws -> SafeTensorsJSON {
        guard depth < SafeTensorsJSON.maximumDepth else { throw error("nesting deeper than \(SafeTensorsJSON.maximumDepth) levels") }
        skipWhitespace()
        guard let byte = current else { throw error("unexpected end of the header") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Unicode.Scalar(byte))'")
        }
    }

    mutating func object(depth: Int) throws -> SafeTensorsJSON {
        position += 1
        var members: [(key: String, value: SafeTensorsJSON)] = []
        var keys = Set<String>()
        skipWhitespace()
        if current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let keyOffset = position
            let key = try string()
            guard keys.insert(key).inserted else {
                throw SafeTensorsJSON.ParseError(message: "duplicate key '\(key)'", offset: keyOffset)
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

    mutating func array(depth: Int) throws -> SafeTensorsJSON {
        position += 1
        var elements: [SafeTensorsJSON] = []
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

    mutating func number() throws -> SafeTensorsJSON {
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
