/// A command-line mistake: printed with the command's usage line, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }

    /// `--name` is not an option of the command: names it, and the closest of `known` when one is close enough to
    /// be a likely misspelling ("unknown option --ouput (did you mean --output?)").
    static func unknownOption(_ name: String, known: [String]) -> UsageError {
        let suggestion = ClosestName.find(name, among: known).map { " (did you mean --\($0)?)" } ?? ""
        return UsageError("unknown option --\(name)\(suggestion)")
    }
}
