import Foundation

/// A command line's options, parsed once: `--name value`, `--flag`, and nothing positional.
///
/// Each subcommand reads what it needs with the typed accessors and calls ``finish()`` last, so an option no
/// subcommand asked for is reported instead of silently ignored.
struct Arguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private var consumed: Set<String> = []

    /// Parses `words` (without the program and subcommand names). `flagNames` are the options that take no value.
    init(_ words: [String], flagNames: Set<String>) throws {
        var index = 0
        while index < words.count {
            let word = words[index]
            guard word.hasPrefix("--"), word.count > 2 else { throw UsageError("unexpected argument '\(word)'") }
            let name = String(word.dropFirst(2))
            if flagNames.contains(name) {
                flags.insert(name)
                index += 1
                continue
            }
            guard index + 1 < words.count else { throw UsageError("option --\(name) needs a value") }
            guard values[name] == nil else { throw UsageError("option --\(name) given twice") }
            values[name] = words[index + 1]
            index += 2
        }
    }

    /// The raw value of `--name`, if given.
    mutating func string(_ name: String) -> String? {
        consumed.insert(name)
        return values[name]
    }

    /// The value of `--name`, which must be given.
    mutating func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    /// `--name` as an integer, if given.
    mutating func int(_ name: String) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text) else { throw UsageError("option --\(name) expects an integer, got '\(text)'") }
        return value
    }

    /// `--name` as an integer in `range`, if given: every count that sizes work or memory has a documented bound,
    /// so that a huge value is a usage error at once rather than an allocation failure or a run of days.
    mutating func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = try int(name) else { return nil }
        guard range.contains(value) else {
            throw UsageError("option --\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        return value
    }

    /// `--name` as a finite number, if given.
    mutating func double(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw UsageError("option --\(name) expects a number, got '\(text)'")
        }
        return value
    }

    /// `--name` as a comma-separated list of integers, if given.
    mutating func ints(_ name: String) throws -> [Int]? {
        guard let text = string(name) else { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count else {
            throw UsageError("option --\(name) expects comma-separated integers, got '\(text)'")
        }
        return values
    }

    /// Whether the flag `--name` was given.
    mutating func flag(_ name: String) -> Bool {
        consumed.insert(name)
        return flags.contains(name)
    }

    /// Throws if any option was given that the subcommand never asked for.
    func finish() throws {
        let unknown = Set(values.keys).union(flags).subtracting(consumed).sorted()
        if let first = unknown.first { throw UsageError("unknown option --\(first)") }
    }
}

/// A command-line mistake: printed with the usage text, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
