import Foundation

/// Any JSON value, for configuration files whose fields change type between versions (a special token is a
/// string in one `tokenizer_config.json` and an object in another).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    /// Parses `data`, reporting failures as ``TokenizerError/malformed(source:reason:)`` naming `source`.
    static func parse(_ data: Data, source: String) throws -> JSONValue {
        do {
            let decoder = JSONDecoder()
            decoder.allowsJSON5 = true  // Python's json writes Infinity/NaN literals
            return try decoder.decode(JSONValue.self, from: data)
        } catch {
            throw TokenizerError.malformed(source: source, reason: "not valid JSON (\(error))")
        }
    }

    /// The member `key` of an object, or nil (also for non-objects).
    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string, if this is one.
    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The Boolean, if this is one.
    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
