import Foundation

/// Reads typed values out of a decoded JSON object, key by key, remembering which keys were read so that
/// ``finish()`` can report the ones nobody asked for. Every error names the file and the key.
struct ConfigReader {
    let path: String
    private let values: [String: JSONValue]
    private var consumed: Set<String> = []

    init(path: String, values: [String: JSONValue]) {
        self.path = path
        self.values = values
    }

    /// A reader over the JSON object in `data`; `path` names the file in errors.
    /// - Throws: ``ConfigError/unreadable(path:reason:)`` when `data` is not a JSON object (a duplicate key
    ///   included: the message names it).
    init(json data: Data, path: String) throws {
        let value: JSONValue
        do {
            value = try JSONValue.parse(data)
        } catch {
            throw ConfigError.unreadable(path: path, reason: "not valid JSON: \(error)")
        }
        guard case .object(let values) = value else {
            throw ConfigError.unreadable(path: path, reason: "not a JSON object")
        }
        self.init(path: path, values: values)
    }

    /// The raw value of `key`; nil when absent or null.
    mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    /// Whether `key` is present with the value null (as opposed to absent, which means "the default").
    func isNull(_ key: String) -> Bool {
        values[key] == .null
    }

    /// Marks `key` as known without reading it (a value with no effect on inference, such as `dropout`).
    mutating func ignore(_ key: String) {
        consumed.insert(key)
    }

    func invalid(_ key: String, _ reason: String) -> ConfigError {
        .invalid(path: path, key: key, reason: reason)
    }

    /// `key` as an integer, or nil when absent or null.
    mutating func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        return try integer(value, key)
    }

    /// `key` as a number, or nil when absent or null.
    mutating func float(_ key: String) throws -> Float? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.isFinite else { throw invalid(key, "expected a number, got \(value)") }
        return Float(number)
    }

    /// `key` as a boolean, or nil when absent or null.
    mutating func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw invalid(key, "expected true or false, got \(value)") }
        return flag
    }

    /// `key` as a list of strings, or nil when absent or null.
    mutating func strings(_ key: String) throws -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw invalid(key, "expected a list of strings, got \(value)") }
        return try items.map { item in
            guard case .string(let text) = item else { throw invalid(key, "expected a list of strings, got \(value)") }
            return text
        }
    }

    /// `key` as "an integer or a list of integers", expanded to `count` values; nil when absent or null.
    mutating func intOrList(_ key: String, count: Int) throws -> [Int]? {
        guard let value = value(key) else { return nil }
        if case .array(let items) = value {
            guard items.count == count else {
                throw invalid(key, "has \(items.count) values, but there are \(count) down blocks")
            }
            return try items.map { try integer($0, key) }
        }
        return Array(repeating: try integer(value, key), count: count)
    }

    /// Accepts `key` only when its value is one of `supported` (the values whose behaviour is implemented);
    /// an absent key counts as null.
    mutating func require(_ key: String, in supported: [JSONValue]) throws {
        consumed.insert(key)
        let value = values[key] ?? .null
        guard supported.contains(value) else {
            let list = supported.map(\.description).joined(separator: ", ")
            throw ConfigError.unsupported(path: path, key: key, value: value.description, supported: list)
        }
    }

    /// Throws for the first key (sorted) that was never read; keys starting with `_` (diffusers' bookkeeping) pass.
    func finish() throws {
        let unknown = values.keys.filter { !consumed.contains($0) && !$0.hasPrefix("_") }.sorted()
        if let key = unknown.first { throw ConfigError.unknownKey(path: path, key: key) }
    }

    private func integer(_ value: JSONValue, _ key: String) throws -> Int {
        guard case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 else {
            throw invalid(key, "expected an integer, got \(value)")
        }
        return Int(number)
    }
}
