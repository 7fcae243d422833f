import Foundation
import TensorCore

/// Any JSON value: configuration and tokenizer files are read into these first, so that each key can be checked
/// and converted with an error that names it.
///
/// Every JSON file is parsed by TensorCore's ``StrictJSON`` (``parse(_:)``): a duplicate key anywhere is an error
/// naming the key, never a silent choice of one of the values.
enum JSONValue: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses `data` with ``StrictJSON``, accepting Python's `NaN` / `Infinity` literals as Python's `json` (which
    /// diffusers and transformers read these files with) does.
    /// - Throws: ``StrictJSON/ParseError`` (duplicate keys included, naming the key).
    static func parse(_ data: Data) throws -> JSONValue {
        JSONValue(try StrictJSON.parse(bytes: data, allowsNonFiniteNumbers: true))
    }

    /// The same value with numbers as `Double`s (an object's keys are unique: ``StrictJSON`` rejects duplicates).
    init(_ json: StrictJSON) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .integer(let value): self = .number(Double(value))
        case .number(let text): self = .number(Double(text) ?? .nan)
        case .string(let value): self = .string(value)
        case .array(let values): self = .array(values.map(JSONValue.init))
        case .object(let members):
            self = .object(Dictionary(members.map { ($0.key, JSONValue($0.value)) }, uniquingKeysWith: { _, last in last }))
        }
    }

    /// The value as JSON text (for error messages).
    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
        case .string(let value): return "\"\(value)\""
        case .array(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let values): return "{" + values.keys.sorted().map { "\"\($0)\": \(values[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}
