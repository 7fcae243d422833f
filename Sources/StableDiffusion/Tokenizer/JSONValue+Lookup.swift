import Foundation

/// Parsing and lookups the tokenizer's configuration files need (the enum itself lives in `Config/`).
extension JSONValue {
    /// Parses `data`, reporting failures as ``TokenizerError/malformed(source:reason:)`` naming `source`.
    static func parse(_ data: Data, source: String) throws -> JSONValue {
        do {
            return try parse(data)
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

    /// The integer, if this is a whole number that a `Double` holds exactly (|n| < 2^53).
    var integer: Int? {
        if case .number(let value) = self, value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return Int(value) }
        return nil
    }

    /// The elements, if this is an array.
    var array: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    /// The Boolean, if this is one.
    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }
}
