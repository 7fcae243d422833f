import XCTest
@testable import TensorCore

final class StrictJSONTests: XCTestCase {
    private func parse(_ text: String) throws -> StrictJSON {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { try StrictJSON.parse($0) }
    }

    private func assertFails(_ text: String, _ message: String, at offset: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), file: file, line: line) { error in
            XCTAssertEqual(error as? StrictJSON.ParseError, .init(message: message, offset: offset), file: file, line: line)
        }
    }

    func testValues() throws {
        XCTAssertEqual(try parse(" {\"a\" : [1, -2, 0, 1.5, 2E+3, true, false, null, \"x\"], \"b\": {}} \n"), .object([
            ("a", .array([.integer(1), .integer(-2), .integer(0), .number("1.5"), .number("2E+3"), .bool(true), .bool(false), .null, .string("x")])),
            ("b", .object([])),
        ]))
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("9223372036854775807"), .integer(Int.max))
        XCTAssertEqual(try parse("9223372036854775808"), .number("9223372036854775808"))
    }

    func testStringEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{08}\u{0C}\n\r\t"))
        XCTAssertEqual(try parse(#""\u00e9\u20AC\ud83d\ude00""#), .string("é€😀"))
        XCTAssertEqual(try parse("\"grüße ✓\""), .string("grüße ✓"))
    }

    func testMalformedText() {
        assertFails("", "unexpected end of the text", at: 0)
        assertFails("{\"a\" 1}", "expected ':' after a key", at: 5)
        assertFails("{\"a\":1,}", "expected a string key", at: 7)
        assertFails("[1 2]", "expected ',' or ']' in an array", at: 3)
        assertFails("{\"a\":1 \"b\":2}", "expected ',' or '}' in an object", at: 7)
        assertFails("tru", "invalid literal (expected 'true')", at: 3)
        assertFails("nul", "invalid literal (expected 'null')", at: 3)
        assertFails("01", "a number may not start with 0", at: 2)
        assertFails("-", "a number needs digits", at: 1)
        assertFails("1.", "a fraction needs digits", at: 2)
        assertFails("1e+", "an exponent needs digits", at: 3)
        assertFails("+1", "unexpected character '+'", at: 0)
        assertFails("\"abc", "unterminated string", at: 4)
        assertFails("\"a\nb\"", "control character in a string", at: 2)
        assertFails(#""\x""#, "invalid escape '\\x'", at: 3)
        assertFails(#""\u12zz""#, "invalid \\u escape", at: 5)
        assertFails(#""\u12"#, "truncated \\u escape", at: 3)
        assertFails(#""\ud83d""#, "unpaired surrogate in \\u escape", at: 7)
        assertFails(#""\ud83d\u0041""#, "unpaired surrogate in \\u escape", at: 13)
        assertFails(#""\ude00""#, "unpaired surrogate in \\u escape", at: 7)
        assertFails("{} {}", "unexpected characters after the JSON value", at: 3)
        assertFails("{\"k\":1,\"k\":2}", "duplicate key 'k'", at: 7)
        assertFails(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nesting deeper than 64 levels", at: 64)
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }

    /// Python's `json` writes and reads `NaN`, `Infinity` and `-Infinity`; they are accepted only when asked for.
    func testNonFiniteNumbersOnlyWhenAllowed() throws {
        let text = Array("[NaN, Infinity, -Infinity, -1]".utf8)
        XCTAssertEqual(try StrictJSON.parse(bytes: text, allowsNonFiniteNumbers: true),
                       .array([.number("NaN"), .number("Infinity"), .number("-Infinity"), .integer(-1)]))
        XCTAssertThrowsError(try StrictJSON.parse(bytes: text)) { error in
            XCTAssertEqual(error as? StrictJSON.ParseError, .init(message: "unexpected character 'N'", offset: 1))
        }
        XCTAssertThrowsError(try StrictJSON.parse(bytes: Array("-Inf".utf8), allowsNonFiniteNumbers: true)) { error in
            XCTAssertEqual(error as? StrictJSON.ParseError, .init(message: "invalid literal (expected '-Infinity')", offset: 4))
        }
    }

    func testInvalidUTF8InAString() {
        let bytes: [UInt8] = [0x22, 0xFF, 0x22]
        XCTAssertThrowsError(try bytes.withUnsafeBufferPointer { try StrictJSON.parse($0) }) { error in
            XCTAssertEqual(error as? StrictJSON.ParseError, .init(message: "invalid UTF-8 in a string", offset: 3))
        }
    }
}
