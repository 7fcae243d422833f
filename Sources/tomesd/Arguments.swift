import Foundation

/// A command line's options, parsed once against the command's declared options (``CommandOption``): `--name value`,
/// `--flag`, `-h`/`--help`, and nothing positional.
///
/// A word that is not a declared option is refused at once, naming it and the closest declared option. Each command
/// reads what it needs with the typed accessors — the value given, else the declared default — and calls
/// ``finish()`` last, so an option the command never read is reported instead of silently ignored.
struct Arguments {
    /// The command's options by name.
    private let declared: [String: CommandOption]
    /// The declared options in their order (for the required check).
    private let order: [CommandOption]
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private var consumed: Set<String> = []
    /// Names the command read that it never declared (a programming mistake, reported by ``finish()``).
    private var undeclared: Set<String> = []
    /// Whether `-h` or `--help` was given: then nothing else is checked and the command's help is printed.
    private(set) var helpRequested = false

    /// Parses `words` (without the program and command names) against `options`.
    /// - Throws: ``UsageError`` for an unknown option (with the closest known one), a positional word, a missing
    ///   value or an option given twice.
    init(_ words: [String], options: [CommandOption]) throws {
        order = options
        declared = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == "-h" || word == "--help" {
                helpRequested = true
                index += 1
                continue
            }
            guard word.hasPrefix("--"), word.count > 2 else { throw UsageError("unexpected argument '\(word)'") }
            let name = String(word.dropFirst(2))
            guard let option = declared[name] else { throw UsageError.unknownOption(name, known: options.map(\.name) + ["help"]) }
            guard option.takesValue else {
                flags.insert(name)
                index += 1
                continue
            }
            guard index + 1 < words.count else { throw UsageError("option --\(name) needs a value (\(option.synopsis))") }
            guard values[name] == nil else { throw UsageError("option --\(name) given twice") }
            values[name] = words[index + 1]
            index += 2
        }
    }

    /// Throws for the first required option not given (checked after `--help`, which needs none).
    func checkRequired() throws {
        if let missing = order.first(where: { $0.isRequired && values[$0.name] == nil }) {
            throw UsageError("missing required option \(missing.synopsis)")
        }
    }

    /// Whether `--name` was given on the command line (its default does not count).
    mutating func isGiven(_ name: String) -> Bool {
        note(name)
        return values[name] != nil || flags.contains(name)
    }

    /// The raw value of `--name`: the one given, else the declared default, else nil.
    mutating func string(_ name: String) -> String? {
        note(name)
        return values[name] ?? declared[name]?.defaultValue
    }

    /// ``string(_:)``, which must be there (given, or declared with a default).
    mutating func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    /// `--name` as an integer (given or default), if there.
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

    /// ``int(_:in:)``, which must be there (given, or declared with a default).
    mutating func requiredInt(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = try int(name, in: range) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    /// ``int(_:)``, which must be there (given, or declared with a default).
    mutating func requiredInt(_ name: String) throws -> Int {
        guard let value = try int(name) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    /// `--name` as a finite number (given or default), if there.
    mutating func double(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw UsageError("option --\(name) expects a number, got '\(text)'")
        }
        return value
    }

    /// ``double(_:)``, which must be there (given, or declared with a default).
    mutating func requiredDouble(_ name: String) throws -> Double {
        guard let value = try double(name) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    /// `--name` as a comma-separated list of integers (given or default), if there.
    mutating func ints(_ name: String) throws -> [Int]? {
        guard let text = string(name) else { return nil }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, values.count == parts.count else {
            throw UsageError("option --\(name) expects comma-separated integers, got '\(text)'")
        }
        return values
    }

    /// ``ints(_:)``, which must be there (given, or declared with a default).
    mutating func requiredInts(_ name: String) throws -> [Int] {
        guard let value = try ints(name) else { throw UsageError("missing required option --\(name)") }
        return value
    }

    /// Whether the flag `--name` was given.
    mutating func flag(_ name: String) -> Bool {
        note(name)
        return flags.contains(name)
    }

    /// Throws if an option was given that the command never read, or the command read an option it never
    /// declared.
    func finish() throws {
        if let name = undeclared.sorted().first {
            throw InternalError(description: "the command reads --\(name) but does not declare it")
        }
        let unused = Set(values.keys).union(flags).subtracting(consumed).sorted()
        if let first = unused.first { throw UsageError("option --\(first) is not used by this command") }
    }

    private mutating func note(_ name: String) {
        consumed.insert(name)
        if declared[name] == nil { undeclared.insert(name) }
    }
}

/// A mistake in `tomesd` itself, not in the command line (exit code 1).
struct InternalError: Error, CustomStringConvertible {
    let description: String
}
