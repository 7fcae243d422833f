import Foundation

/// Parsing and lookups the tokenizer's configuration files need (the enum itself lives in `Config/`).
extension JSONValue {
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
